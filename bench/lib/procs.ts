// The processes under test: the operator (from the snapshot, compiled as in its image, or
// through tsx) and the baseline watcher. Their JSON log lines on stderr are
// parsed as they arrive (arrival time = performance.now()) and written to a file for inspection;
// memory and CPU are read from /proc and from the operator's /metrics.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync, readlinkSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

export type LogLine = Record<string, unknown> & { message?: string; level?: string };

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface ProcStat {
  rssBytes: number;
  peakRssBytes: number;
  cpuSeconds: number;
  /** Open sockets (TCP connections, mostly to the apiserver). */
  sockets: number;
  /**
   * Bytes the process has read through read() since it started (rchar of /proc/<pid>/io):
   * sockets (its apiserver traffic as it arrives, TLS and gzip included) and files (module
   * loading, /proc for its own metrics). NaN where /proc/<pid>/io cannot be read.
   */
  readBytes: number;
}

export class BenchProcess {
  readonly name: string;
  readonly spawnedAt = performance.now();
  readonly spawnedWall = Date.now();
  readonly counts = new Map<string, number>();
  /** Log lines by level (warn and error ones are worth a look in every run). */
  readonly levels = new Map<string, number>();
  /** The first warn/error lines, verbatim. */
  readonly problems: string[] = [];
  readonly tail: string[] = [];
  readonly #child: ChildProcess;
  readonly #exit: Promise<number | null>;
  readonly #file: WriteStream;
  readonly #firstAt = new Map<string, { at: number; line: LogLine }>();
  #listeners: Array<(l: LogLine, at: number) => void> = [];

  /**
   * Spawns `node <argv>` (this Node: process.execPath) in `cwd`, or `executable <argv>` (a peer's
   * binary). The harness's KUBECONFIG, and the variables in `unset`, never reach the child; `env`
   * is applied after that (a peer that reads its kubeconfig only from KUBECONFIG gets its own).
   */
  constructor(name: string, cwd: string, argv: string[], logFile: string, env: Record<string, string> = {}, executable = process.execPath, unset: readonly string[] = []) {
    this.name = name;
    this.#file = createWriteStream(logFile);
    const childEnv: Record<string, string | undefined> = { ...process.env };
    for (const k of ['KUBECONFIG', ...unset]) delete childEnv[k];
    Object.assign(childEnv, env);
    this.#child = spawn(executable, argv, { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(this.#child);
    // readline emits each line within the 'data' event that completes it: `at` is its arrival.
    const onLine = (raw: string) => {
      const at = performance.now();
      this.tail.push(raw);
      if (this.tail.length > 40) this.tail.shift();
      const line = parseLogLine(raw);
      if (!line) return;
      const msg = String(line.message ?? '');
      this.counts.set(msg, (this.counts.get(msg) ?? 0) + 1);
      const level = String(line.level ?? '');
      this.levels.set(level, (this.levels.get(level) ?? 0) + 1);
      if (['warn', 'warning', 'error', 'fatal'].includes(level) && this.problems.length < 20) this.problems.push(raw.slice(0, 500));
      if (!this.#firstAt.has(msg)) this.#firstAt.set(msg, { at, line });
      for (const l of this.#listeners) l(line, at);
    };
    for (const stream of [this.#child.stderr, this.#child.stdout]) {
      if (!stream) continue;
      stream.on('data', (chunk: Buffer) => this.#file.write(chunk));
      // readline re-emits a pipe's errors; a child's dying pipe is seen as its exit instead.
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', onLine).on('error', () => {});
    }
    this.#exit = new Promise((resolve) => this.#child.on('exit', (code, signal) => {
      live.delete(this.#child);
      resolve(code ?? (signal ? 128 : null));
    }));
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  count(message: string): number {
    return this.counts.get(message) ?? 0;
  }

  /** Resolves with the arrival time of the first line (past or future) matching `pred`. */
  waitFor(what: string, pred: (l: LogLine) => boolean, timeoutMs: number): Promise<{ at: number; line: LogLine }> {
    for (const hit of this.#firstAt.values()) if (pred(hit.line)) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.name}: timed out after ${timeoutMs} ms waiting for ${what}\n${this.tail.slice(-15).join('\n')}`));
      }, timeoutMs);
      const listener = (l: LogLine, at: number) => {
        if (!pred(l)) return;
        cleanup();
        resolve({ at, line: l });
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.#listeners = this.#listeners.filter((x) => x !== listener);
      };
      this.#listeners.push(listener);
      void this.#exit.then((code) => {
        if (!this.#listeners.includes(listener)) return;
        cleanup();
        reject(new Error(`${this.name} exited (${code}) while waiting for ${what}\n${this.tail.slice(-15).join('\n')}`));
      });
    });
  }

  /** Memory and CPU from /proc (Linux): VmRSS, VmHWM (peak RSS), utime+stime. */
  stat(): ProcStat | undefined {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
      const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      let sockets = 0;
      for (const fd of readdirSync(`/proc/${this.pid}/fd`)) {
        try {
          if (readlinkSync(`/proc/${this.pid}/fd/${fd}`).startsWith('socket:')) sockets++;
        } catch {
          // closed meanwhile
        }
      }
      let readBytes = NaN;
      try {
        readBytes = Number(/^rchar:\s+(\d+)/m.exec(readFileSync(`/proc/${this.pid}/io`, 'utf8'))?.[1] ?? NaN);
      } catch {
        // not readable (another user, a hardened kernel)
      }
      return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM'), cpuSeconds: ticks / 100, sockets, readBytes };
    } catch {
      return undefined;
    }
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.#child.kill(sig);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  async stop(graceMs = 30_000): Promise<number | null> {
    if (this.running) this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    const code = await this.#exit;
    clearTimeout(timer);
    await new Promise<void>((r) => this.#file.end(() => r()));
    return code;
  }
}

/**
 * A log line as fields: JSON (the operator's; zap's, whose message is `msg`, as Wave logs), or
 * logrus's text form `time="…" level=info msg="…"` (Reloader). `message` holds the message in
 * every form; undefined for a line in none of them.
 */
export function parseLogLine(raw: string): LogLine | undefined {
  if (raw.startsWith('{')) {
    try {
      const line = JSON.parse(raw) as LogLine;
      if (line.message === undefined && typeof line.msg === 'string') line.message = line.msg;
      return line;
    } catch {
      return undefined;
    }
  }
  const fields: LogLine = {};
  for (const m of raw.matchAll(/(\w+)=(?:"((?:[^"\\]|\\.)*)"|(\S+))/g)) fields[m[1] as string] = m[2] ?? m[3] ?? '';
  if (fields.level === undefined) return undefined;
  if (fields.message === undefined && typeof fields.msg === 'string') fields.message = fields.msg;
  return fields;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export interface OperatorMemory {
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  /** Peak RSS of the process so far (VmHWM). */
  peakRssBytes: number;
  cpuSeconds: number;
  sockets: number;
  /** rchar of /proc/<pid>/io: bytes read so far (see ProcStat.readBytes). Absent in older results. */
  readBytes?: number;
}

/** The operator's own figures from its /metrics (prom-client default metrics), plus /proc. */
export async function operatorMemory(proc: BenchProcess, port: number): Promise<OperatorMemory> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await res.text();
  const metric = (name: string): number => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)`, 'm').exec(text);
    return m ? Number(m[1]) : NaN;
  };
  const stat = proc.stat();
  return {
    rssBytes: metric('process_resident_memory_bytes'),
    heapUsedBytes: metric('nodejs_heap_size_used_bytes'),
    heapTotalBytes: metric('nodejs_heap_size_total_bytes'),
    externalBytes: metric('nodejs_external_memory_bytes'),
    peakRssBytes: stat?.peakRssBytes ?? NaN,
    cpuSeconds: stat?.cpuSeconds ?? NaN,
    sockets: stat?.sockets ?? NaN,
    readBytes: stat?.readBytes ?? NaN,
  };
}
