// What each operator replica could not see, told to the oracle (./oracle.ts) as the pods
// oracle's windows. The soak cannot see the replicas' watches; it knows when it starts them and
// when it injects faults, and reads the resourceVersion of such moments with a cheap LIST:
// - a cold start: every process, from its first list — listed(identity, 0, at), `at` the highest
//   resourceVersion its reflectors logged with 'initial list complete' (one per namespace), read
//   once it logged 'caches synced'. A standby's stores stay warm: taking over opens nothing.
// - a proxy fault that cuts or stalls watches (it may end in a relist the soak cannot see): every
//   replica whose caches synced is blind from the version before the fault was applied (or its
//   own first list, if later) until 10 s after the fault ends — blind() then listed().
// - any fault (cutting watches, delaying or refusing requests): a lag window over the same
//   stretch, inside which a replica's write is taken to have seen nothing after the window opened.
// A relist (410) a replica logs outside every window is noted (the report's oracle.harness): it
// hid writes the oracle was not told of.
import type { Kube } from '../lib/kube.ts';
import type { BenchProcess } from '../lib/procs.ts';
import type { Finding, LagWindow, Oracle } from './oracle.ts';

/** How long after a fault ends a replica counts as blind still (reconnects with backoff, a relist). */
export const BLIND_TAIL_MS = 10_000;

export interface ColdStart {
  identity: string;
  configmaps: number;
  deployments: number;
}

export interface FaultWindow extends LagWindow {
  startedAt: number;
  endedAt?: number;
  /** A fault in it cut or stalled watches: the replicas in `blinded` were told blind. */
  blinding: boolean;
  blinded: string[];
}

export class ReplicaWindows {
  readonly coldStarts: ColdStart[] = [];
  readonly faultWindows: FaultWindow[] = [];
  readonly #kube: Kube;
  readonly #namespace: string;
  readonly #oracle: Oracle;
  /** Identity → the version of its first list. */
  readonly #synced = new Map<string, number>();
  #open: FaultWindow | undefined;
  /** In the open window: identity → the version it is blind from. */
  readonly #blinded = new Map<string, number>();
  #closeTimer: NodeJS.Timeout | undefined;
  #closed: Array<() => void> = [];
  /** Steps that read a resourceVersion run one after the other. */
  #serial: Promise<void> = Promise.resolve();

  constructor(kube: Kube, controlNamespace: string, oracle: Oracle) {
    this.#kube = kube;
    this.#namespace = controlNamespace;
    this.#oracle = oracle;
  }

  /** Follows a new operator process's log: its first list, and relists. */
  follow(identity: string, proc: BenchProcess): void {
    const at = { configmaps: 0, deployments: 0 };
    void proc.waitFor('caches synced', (l) => {
      if (l.message === 'initial list complete' && (l.resource === 'configmaps' || l.resource === 'deployments')) {
        at[l.resource] = Math.max(at[l.resource], Number(l.resourceVersion) || 0);
      }
      return l.message === 'caches synced';
    }, 2_000_000_000).then(() => this.#step(async () => {
      // A reflector that logged no version (it should not happen): the version now bounds it.
      if (at.configmaps === 0 || at.deployments === 0) {
        const now = await this.#currentRv();
        at.configmaps ||= now;
        at.deployments ||= now;
      }
      this.coldStarts.push({ identity, ...at });
      this.#oracle.listed(identity, 0, at);
      const first = Math.max(at.configmaps, at.deployments);
      this.#synced.set(identity, first);
      if (this.#open?.blinding) this.#blind(identity, first);
    }), () => undefined);
    // Each write's line says what the replica's watches had reached when it decided.
    void proc.waitFor('writes', (l) => {
      if ((l.message === 'rolled' || l.message === 'adopted') && typeof l.resourceVersion === 'string') {
        const views = (l.views ?? {}) as Record<string, unknown>;
        const at = (plural: string) => (typeof views[plural] === 'string' ? Number(views[plural]) : undefined);
        const configmaps = at('configmaps');
        const deployments = at('deployments');
        this.#oracle.viewsOf(Number(l.resourceVersion), {
          ...(configmaps !== undefined ? { configmaps } : {}), ...(deployments !== undefined ? { deployments } : {}),
        });
      }
      return false;
    }, 2_000_000_000).catch(() => undefined);
    void proc.waitFor('relists', (l) => {
      if (l.message === 'resourceVersion too old (410 Gone): relisting' && this.#open === undefined && this.#closeTimer === undefined) {
        this.#oracle.harness.push({ kind: 'harness', workload: `operator ${identity}`, detail: `relisted ${String(l.resource)} (410) at ${new Date().toISOString()}, outside every fault window: what it hid is not known to the oracle` } satisfies Finding);
      }
      return false;
    }, 2_000_000_000).catch(() => undefined);
  }

  /** Before a fault is applied (awaited, so that the version read precedes it). */
  async faultStarting(blinding: boolean): Promise<void> {
    await this.#step(async () => {
      if (this.#closeTimer) clearTimeout(this.#closeTimer);
      this.#closeTimer = undefined;
      const rv = await this.#currentRv();
      if (!this.#open) {
        this.#open = { from: rv, startedAt: Date.now(), blinding: false, blinded: [] };
        this.faultWindows.push(this.#open);
        this.#oracle.lagging(this.#open);
      }
      if (blinding) {
        this.#open.blinding = true;
        for (const [identity, first] of this.#synced) this.#blind(identity, Math.max(rv, first));
      }
    });
  }

  /** The faults in force ended: the window closes BLIND_TAIL_MS later, unless another fault starts first. */
  faultEnded(): void {
    if (!this.#open || this.#closeTimer) return;
    this.#open.endedAt = Date.now();
    this.#closeTimer = setTimeout(() => {
      this.#closeTimer = undefined;
      void this.#step(async () => this.#close(await this.#currentRv()));
    }, BLIND_TAIL_MS);
  }

  /** Resolves once no window is open (call after the faults were cleared). */
  async settled(): Promise<void> {
    await this.#serial;
    if (!this.#open) return;
    await new Promise<void>((resolve) => this.#closed.push(resolve));
  }

  /** Stops the close timer (end of the run). */
  stop(): void {
    if (this.#closeTimer) clearTimeout(this.#closeTimer);
    this.#closeTimer = undefined;
    for (const resolve of this.#closed.splice(0)) resolve();
  }

  #blind(identity: string, since: number): void {
    if (this.#blinded.has(identity) || !this.#open) return;
    this.#blinded.set(identity, since);
    this.#open.blinded.push(identity);
    this.#oracle.blind(identity, since);
  }

  #close(at: number): void {
    const open = this.#open;
    if (!open) return;
    for (const [identity, since] of this.#blinded) this.#oracle.listed(identity, since, { configmaps: at, deployments: at });
    this.#blinded.clear();
    open.to = at;
    this.#open = undefined;
    for (const resolve of this.#closed.splice(0)) resolve();
  }

  #step(fn: () => Promise<void>): Promise<void> {
    const run = this.#serial.then(fn);
    this.#serial = run.catch(() => undefined);
    return run;
  }

  /** The current resourceVersion (a consistent LIST of at most one object). */
  async #currentRv(): Promise<number> {
    const res = await this.#kube.requestRetry<{ metadata: { resourceVersion: string } }>('GET', `/api/v1/namespaces/${this.#namespace}/configmaps?limit=1`);
    return Number(res.body.metadata.resourceVersion);
  }
}
