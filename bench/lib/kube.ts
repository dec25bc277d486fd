// A small raw HTTPS client for the benchmark's own traffic: creating tens of thousands of
// objects, timing ConfigMap writes to the moment their response arrives, and watching
// Deployments. Plain node:https with a keep-alive pool keeps the harness's own CPU cost low
// (it shares two cores with the control plane and the process under test) and its timing exact.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { createInterface } from 'node:readline';
import { gunzipSync } from 'node:zlib';

export interface ClientCreds {
  server: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export class ApiError extends Error {
  constructor(readonly status: number, readonly body: string, what: string) {
    super(`${what}: HTTP ${status}: ${body.slice(0, 300)}`);
  }
}

export interface Response<T> {
  status: number;
  body: T;
  /**
   * performance.now() when the response's status line and headers arrived: the moment the
   * apiserver acknowledged the request (its body, the whole object, may take longer to read).
   */
  at: number;
}

export type WatchEvent<T> = { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'; object: T };

export class Kube {
  readonly #creds: ClientCreds;
  readonly #url: URL;
  readonly #agent: Agent;

  constructor(creds: ClientCreds, maxSockets = 64) {
    this.#creds = creds;
    this.#url = new URL(creds.server);
    this.#agent = new Agent({ keepAlive: true, maxSockets, ca: creds.ca, cert: creds.cert, key: creds.key });
  }

  static fromFiles(server: string, caFile: string, certFile: string, keyFile: string, maxSockets?: number): Kube {
    return new Kube({ server, ca: readFileSync(caFile), cert: readFileSync(certFile), key: readFileSync(keyFile) }, maxSockets);
  }

  get creds(): ClientCreds {
    return this.#creds;
  }

  /** One request; rejects with ApiError on a status >= 300 unless `ok` accepts it. */
  request<T = unknown>(method: string, path: string, body?: unknown, contentType = 'application/json', ok?: (status: number) => boolean): Promise<Response<T>> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request({
        host: this.#url.hostname, port: this.#url.port, path, method, agent: this.#agent,
        headers: {
          Accept: 'application/json',
          ...(payload !== undefined ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) } : {}),
        },
      }, (res) => {
        const at = performance.now();
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let text: string;
          try {
            text = Buffer.concat(chunks).toString('utf8');
          } catch (err) {
            // A body too large for one string (over 512 MiB): an error of this request, not of the process.
            reject(err instanceof Error ? err : new Error(String(err)));
            return;
          }
          const status = res.statusCode ?? 0;
          if (status >= 300 && !(ok?.(status) ?? false)) {
            reject(new ApiError(status, text, `${method} ${path}`));
            return;
          }
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON: return the text
          }
          resolve({ status, body: parsed as T, at });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** Retries transient failures (429, 5xx, connection resets) a few times. */
  async requestRetry<T = unknown>(method: string, path: string, body?: unknown, contentType?: string, ok?: (status: number) => boolean): Promise<Response<T>> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.request<T>(method, path, body, contentType, ok);
      } catch (err) {
        const status = err instanceof ApiError ? err.status : 0;
        const transient = status === 0 || status === 429 || status >= 500;
        if (!transient || attempt >= 8) throw err;
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
      }
    }
  }

  /**
   * A watch stream: calls onEvent for each event with the performance.now() of its arrival.
   * Resolves `ended` when the server closes the stream or on error (never rejects).
   */
  watch<T>(path: string, onEvent: (e: WatchEvent<T>, at: number) => void): { ended: Promise<Error | undefined>; stop(): void } {
    let stopReq: () => void = () => undefined;
    const ended = new Promise<Error | undefined>((resolve) => {
      const req = request({
        host: this.#url.hostname, port: this.#url.port, path, method: 'GET',
        // A dedicated socket: a watch must never wait for, or hold, a pooled one.
        ca: this.#creds.ca, cert: this.#creds.cert, key: this.#creds.key, agent: false,
        headers: { Accept: 'application/json' },
      }, (res) => {
        if ((res.statusCode ?? 0) !== 200) {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(new ApiError(res.statusCode ?? 0, text, `WATCH ${path}`)));
          return;
        }
        // readline emits each line within the 'data' event that completes it: `at` is its arrival.
        createInterface({ input: res, crlfDelay: Infinity }).on('line', (line) => {
          if (line.trim()) onEvent(JSON.parse(line) as WatchEvent<T>, performance.now());
        }).on('error', () => {
          // readline re-emits the response's errors; res.on('error') below reports them.
        });
        res.on('end', () => resolve(undefined));
        res.on('error', (err) => resolve(err));
        res.on('aborted', () => resolve(new Error('aborted')));
      });
      req.on('error', (err) => resolve(err));
      req.end();
      stopReq = () => req.destroy();
    });
    return { ended, stop: () => stopReq() };
  }

  /**
   * A paginated LIST of a whole collection, parsed page by page and dropped: the floor of any
   * list-based sync. With `gzip` the response is compressed as client-node's HTTP stack asks.
   */
  async listAll(path: string, pageSize: number, gzip: boolean): Promise<{ items: number; bytes: number; pages: number }> {
    let token = '';
    let items = 0;
    let bytes = 0;
    let pages = 0;
    do {
      const url = `${path}?limit=${pageSize}${token ? `&continue=${encodeURIComponent(token)}` : ''}`;
      const body = await new Promise<Buffer>((resolve, reject) => {
        const req = request({
          host: this.#url.hostname, port: this.#url.port, path: url, method: 'GET', agent: this.#agent,
          headers: { Accept: 'application/json', ...(gzip ? { 'Accept-Encoding': 'gzip' } : {}) },
        }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const raw = Buffer.concat(chunks);
            bytes += raw.length;
            if ((res.statusCode ?? 0) >= 300) reject(new ApiError(res.statusCode ?? 0, raw.toString(), `LIST ${path}`));
            else resolve(res.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw);
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      });
      const page = JSON.parse(body.toString('utf8')) as { items: unknown[]; metadata: { continue?: string } };
      items += page.items.length;
      pages++;
      token = page.metadata.continue ?? '';
    } while (token);
    return { items, bytes, pages };
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** Runs `fn` over `items` with at most `concurrency` in flight; rejects on the first failure. */
export async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (failed === undefined) {
      const i = next++;
      if (i >= items.length) return;
      try {
        await fn(items[i] as T, i);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failed !== undefined) throw failed;
}
