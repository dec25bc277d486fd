// A bearer token read from a file that someone else rotates: a kubeconfig user's `tokenFile`
// (kubectl's field), e.g. a projected ServiceAccount token mounted for an out-of-cluster
// operator, or a token a sidecar refreshes. client-node 2.0.1 does not read `tokenFile` at all
// (it reads a `token-file` key once, at load), so without this a rotated or even a valid token
// file is never used: every request goes out unauthenticated.
//
// The file is checked on every request (one stat) and read again when it changed, or at the
// latest a minute after the last read (client-go's cached file token source re-reads as often),
// so a token revoked and rotated on disk is picked up by the next retry. The in-cluster
// ServiceAccount token (src/kube/in-cluster.ts) is read the same way, and again after a 401.
import { readFileSync, statSync } from 'node:fs';

const REREAD_MS = 60_000;

export class TokenFile {
  readonly path: string;
  #token: string;
  #stamp: string;
  #readAt: number;
  /** How many times the file was read: which read a request's token came from. */
  #reads = 1;
  readonly #now: () => number;

  /**
   * Reads the file now: an unreadable or empty file is the caller's start-up error. `now`: the
   * clock of the minute between re-reads (tests turn it).
   */
  constructor(path: string, now: () => number = Date.now) {
    this.path = path;
    this.#now = now;
    this.#stamp = stampOf(path);
    this.#token = readToken(path);
    this.#readAt = now();
  }

  /** Which read the token current() returns came from. */
  get generation(): number {
    return this.#reads;
  }

  /**
   * The token was refused (401): read the file again on the next request, changed or not —
   * unless it was read again since the refused request took its token (`generation`), as
   * client-go's ResetTokenOlderThan: a storm of 401s from requests in flight reads it once.
   */
  invalidate(generation = this.#reads): void {
    if (generation === this.#reads) this.#readAt = Number.NEGATIVE_INFINITY;
  }

  /**
   * The token as the file holds it now. When the file cannot be read (mid-rotation, briefly
   * absent) the last token read is used: the apiserver's answer says whether it still works.
   */
  current(): string {
    try {
      const stamp = stampOf(this.path);
      if (stamp !== this.#stamp || this.#now() - this.#readAt > REREAD_MS) {
        const token = readToken(this.path);
        this.#token = token;
        this.#stamp = stamp;
        this.#readAt = this.#now();
        this.#reads++;
      }
    } catch {
      // keep the last token
    }
    return this.#token;
  }
}

/** What tells a rewritten file (or a swapped symlink, as the kubelet rotates) from the same one. */
function stampOf(path: string): string {
  const s = statSync(path);
  return `${s.ino}:${s.size}:${s.mtimeMs}`;
}

function readToken(path: string): string {
  const token = readFileSync(path, 'utf8').trim();
  if (token === '') throw new Error(`token file ${path} is empty`);
  return token;
}
