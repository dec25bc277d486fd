// The operator as its own process, as the image runs it (the bundle of scripts/build.sh, built
// once per run by the global setup, with the image's Node flags and environment), with its JSON
// log lines captured for assertions. The bundle starts in about 0.3 s and 0.15 s of CPU, the
// sources through tsx in about 2.3 s and 1.4 s (each of the suite's ~45 operators paid that).
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { IMAGE_ENV, IMAGE_NODE_FLAGS } from '../support/image.ts';
import { E2E_KEY_NAMESPACE } from './digest-key.ts';
import { testbed } from './hooks.ts';
import { createNamespace, deleteNamespace } from './support.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export type LogLine = Record<string, unknown> & { level: string; message: string };

export interface StartOptions {
  args?: string[];
  env?: Record<string, string>;
  /** Resolve once the workers run (default) or as soon as the process is spawned. */
  waitFor?: 'workers' | 'spawned';
  /** Node's arguments before the operator's flags (default: operatorEntry(), the bundle). */
  entry?: string[];
}

export class OperatorProcess {
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  /** Lines the operator wrote to stdout (its logs go to stderr; stdout should stay empty). */
  readonly stdout: string[] = [];
  readonly #child: ChildProcess;
  readonly #exit: Promise<number | null>;
  readonly #closed: Promise<number | null>;
  #listeners: Array<() => void> = [];

  private constructor(child: ChildProcess) {
    this.#child = child;
    if (child.stderr) {
      createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) => {
        this.stderr.push(line);
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          // not a log line (e.g. a start-up error message)
        }
        for (const l of this.#listeners) l();
      }).on('error', () => {
        // readline re-emits a pipe's errors; a child's dying pipe is seen as its exit instead.
      });
    }
    if (child.stdout) {
      createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => this.stdout.push(line)).on('error', () => undefined);
    }
    this.#exit = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    this.#closed = new Promise((resolve) => child.on('close', (code) => resolve(code)));
    live.add(this);
    void this.#exit.then(() => live.delete(this));
  }

  static async start(opts: StartOptions = {}): Promise<OperatorProcess> {
    const entry = opts.entry ?? operatorEntry();
    const child = spawn(process.execPath, [...entry, '--log-format', 'json', '--http-addr', '127.0.0.1:0', ...(opts.args ?? [])], {
      cwd: root,
      // Every e2e operator digests with the key the tests know (test/e2e/digest-key.ts).
      env: { ...process.env, ...IMAGE_ENV, KUBECONFIG: testbed().kubeconfigPath, CONFIG_RELOAD_DIGEST_KEY_NAMESPACE: E2E_KEY_NAMESPACE, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const op = new OperatorProcess(child);
    if (opts.waitFor !== 'spawned') await op.waitForLog('workers started', (l) => l.message === 'resync' && l.why === 'start', 60_000);
    return op;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get exitCode(): Promise<number | null> {
    return this.#exit;
  }

  /** The exit code, once the process exited and all it wrote to stdout and stderr was read. */
  get closed(): Promise<number | null> {
    return this.#closed;
  }

  /** Resolves with the first log line (already seen or future) matching `pred`. */
  waitForLog(what: string, pred: (l: LogLine) => boolean, timeoutMs = 60_000): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.logs.find(pred);
        if (hit) {
          cleanup();
          resolve(hit);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`operator log: timed out waiting for ${what}; last lines:\n${this.stderr.slice(-15).join('\n')}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.#listeners = this.#listeners.filter((l) => l !== check);
      };
      this.#listeners.push(check);
      void this.#exit.then(() => {
        if (this.#listeners.includes(check)) {
          cleanup();
          reject(new Error(`operator exited while waiting for ${what}:\n${this.stderr.slice(-15).join('\n')}`));
        }
      });
      check();
    });
  }

  /** The HTTP port the operator listens on (from its start-up log line). */
  async httpPort(): Promise<number> {
    const line = await this.waitForLog('http server listening', (l) => l.message === 'http server listening');
    return Number(line.port);
  }

  decisions(workload: string): LogLine[] {
    return this.logs.filter((l) => l.workload === workload);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (process.env.CRO_E2E_DUMP_LOGS) process.stderr.write(`--- operator ${this.pid} log ---\n${this.stderr.join('\n')}\n`);
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill(signal);
    return this.#exit;
  }
}

/**
 * Node's arguments that start the operator (its command line follows): the image's Node flags
 * and the run's bundle (CRO_E2E_BUNDLE, set by the global setup); the sources through tsx when
 * no bundle was built (a test file run without the global setup).
 */
export function operatorEntry(): string[] {
  const bundle = process.env.CRO_E2E_BUNDLE;
  return bundle ? [...IMAGE_NODE_FLAGS, bundle] : ['--import', 'tsx', 'src/main.ts'];
}

const live = new Set<OperatorProcess>();
process.on('exit', () => {
  for (const op of live) void op.stop('SIGKILL');
});

/** Stops every operator a test left running (for afterEach). */
export async function stopAllOperators(): Promise<void> {
  await Promise.all([...live].map((op) => op.stop('SIGKILL')));
}

/**
 * Registers before/after hooks giving the suite a fresh namespace and an operator that
 * watches only it; both are torn down after the suite.
 */
export function namespaceWithOperator(prefix: string, args: string[] = []): { ns: string; op: OperatorProcess } {
  const suite = {} as { ns: string; op: OperatorProcess };
  before(async () => {
    suite.ns = await createNamespace(prefix);
    suite.op = await OperatorProcess.start({ args: ['--namespace', suite.ns, ...args] });
  });
  after(async () => {
    await suite.op?.stop();
    if (suite.ns) await deleteNamespace(suite.ns);
  });
  return suite;
}
