// One control-plane process: spawned with its output in a log file, stopped with SIGTERM and,
// if it lingers, SIGKILL. Every live child is tracked so that an exit of the test process,
// however it happens, takes them down too (see reaper.ts for the SIGKILL case).
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, appendFileSync } from 'node:fs';

const live = new Set<ChildProcess>();

/** Kills every child synchronously: safe to call from an 'exit' handler. */
export function killAllSync(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

export class ManagedProcess {
  readonly name: string;
  readonly logFile: string;
  #child: ChildProcess | undefined;
  #exited: Promise<number | null> = Promise.resolve(null);
  #pidFile: string;

  constructor(name: string, logFile: string, pidFile: string) {
    this.name = name;
    this.logFile = logFile;
    this.#pidFile = pidFile;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  start(bin: string, args: string[]): void {
    const fd = openSync(this.logFile, 'a');
    const child = spawn(bin, args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    live.add(child);
    this.#child = child;
    if (child.pid) appendFileSync(this.#pidFile, `${child.pid}\n`);
    this.#exited = new Promise((resolve) => {
      child.on('exit', (code) => {
        live.delete(child);
        resolve(code);
      });
      child.on('error', (err) => {
        live.delete(child);
        appendFileSync(this.logFile, `spawn error: ${err.message}\n`);
        resolve(-1);
      });
    });
  }

  /** Rejects if the process exits before `ready` resolves true; polls every 100 ms. */
  async waitUntil(what: string, ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`testbed: ${this.name} exited before ${what}\n${this.tail()}`);
      if (await ready().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`testbed: ${this.name} not ${what} after ${timeoutMs} ms\n${this.tail()}`);
  }

  async stop(graceMs = 5000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }

  tail(lines = 25): string {
    try {
      const text = readFileSync(this.logFile, 'utf8').trimEnd().split('\n');
      return `--- last lines of ${this.logFile} ---\n${text.slice(-lines).join('\n')}`;
    } catch {
      return `(no log at ${this.logFile})`;
    }
  }
}
