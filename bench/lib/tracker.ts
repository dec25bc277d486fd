// The benchmark's own view of the Deployments, through one watch: per Deployment the pod
// template's annotations of interest and the recorded digest, when each changed (arrival time
// of the watch event), and whether the Deployment controller has caught up with its spec.
// Latency is measured to the arrival of the first event showing a template annotation changed.
import { type Kube, type WatchEvent } from './kube.ts';
import { NS } from './objects.ts';

interface DeploymentView {
  metadata?: { name?: string; resourceVersion?: string; generation?: number; annotations?: Record<string, string> };
  spec?: { template?: { metadata?: { annotations?: Record<string, string> } } };
  status?: { observedGeneration?: number };
}

/** Set by the Deployment controller on the Deployment: the revision of its newest ReplicaSet, one more per roll. */
export const REVISION = 'deployment.kubernetes.io/revision';

interface Entry {
  template: Map<string, string>;
  recorded: string | undefined;
  revision: number;
  generation: number;
  observedGeneration: number;
}

/** Rolls counted by revision over a set of Deployments: `missed` = none, `duplicates` = beyond the first. */
export interface RollCount {
  deployments: number;
  rolls: number;
  rolled: number;
  missed: number;
  duplicates: number;
}

export interface Change {
  name: string;
  key: string;
  value: string | undefined;
  at: number;
}

export class DeploymentTracker {
  readonly #kube: Kube;
  readonly #keys: readonly string[];
  readonly #recordedKey: string;
  readonly #entries = new Map<string, Entry>();
  readonly #waiters = new Map<string, Array<(c: Change) => void>>();
  readonly #listeners = new Set<(c: Change) => void>();
  /** Every template annotation change seen, in order. */
  readonly changes: Change[] = [];
  /** Every change of the recorded digest (metadata annotation): adoptions and rolls. */
  recordedChanges = 0;
  /** Arrival times (performance.now()) of the first and the last recorded-digest change seen. */
  recordedFirstAt: number | undefined;
  recordedLastAt: number | undefined;
  /** Per Deployment, when its recorded digest first appeared (its adoption, for the operator). */
  readonly firstRecordedAt = new Map<string, number>();
  /** Relists after the watch failed (should stay 0: a relist blurs the timing). */
  relists = 0;
  #rv = '';
  #stopped = false;
  #stop: () => void = () => undefined;
  #running: Promise<void> = Promise.resolve();

  constructor(kube: Kube, templateKeys: readonly string[], recordedKey: string) {
    this.#kube = kube;
    this.#keys = templateKeys;
    this.#recordedKey = recordedKey;
  }

  /** Starts watching from "now" (the namespace is expected to be empty or freshly listed). */
  async start(): Promise<void> {
    await this.#list(false);
    this.#running = this.#loop();
  }

  async #list(notify: boolean): Promise<void> {
    const list = await this.#kube.requestRetry<{ metadata: { resourceVersion: string }; items: DeploymentView[] }>(
      'GET', `/apis/apps/v1/namespaces/${NS}/deployments`);
    const at = performance.now();
    for (const d of list.body.items) this.#apply(d, at, notify);
    this.#rv = list.body.metadata.resourceVersion;
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      let gone = false;
      const w = this.#kube.watch<DeploymentView>(
        `/apis/apps/v1/namespaces/${NS}/deployments?watch=1&allowWatchBookmarks=true&timeoutSeconds=3600&resourceVersion=${this.#rv}`,
        (e: WatchEvent<DeploymentView>, at) => {
          if (e.type === 'ERROR') {
            // 410 Gone (or worse): relist; changes found that way are timed at the relist.
            this.relists++;
            gone = true;
            return;
          }
          const rv = e.object.metadata?.resourceVersion;
          if (rv) this.#rv = rv;
          if (e.type === 'ADDED' || e.type === 'MODIFIED') this.#apply(e.object, at, true);
          else if (e.type === 'DELETED') this.#entries.delete(e.object.metadata?.name ?? '');
        });
      this.#stop = w.stop;
      const err = await w.ended;
      if (this.#stopped) break;
      if (err) await new Promise((r) => setTimeout(r, 200));
      if (gone) await this.#list(true).catch(() => undefined);
    }
  }

  #apply(d: DeploymentView, at: number, notify: boolean): void {
    const name = d.metadata?.name ?? '';
    const annotations = d.spec?.template?.metadata?.annotations ?? {};
    let e = this.#entries.get(name);
    if (!e) {
      e = { template: new Map(), recorded: undefined, revision: 0, generation: 0, observedGeneration: 0 };
      this.#entries.set(name, e);
    }
    for (const key of this.#keys) {
      const value = annotations[key];
      if (value === e.template.get(key)) continue;
      if (value === undefined) e.template.delete(key);
      else e.template.set(key, value);
      if (!notify) continue;
      const change = { name, key, value, at };
      this.changes.push(change);
      for (const l of this.#listeners) l(change);
      const waiting = this.#waiters.get(`${name}|${key}`);
      if (waiting) {
        this.#waiters.delete(`${name}|${key}`);
        for (const resolve of waiting) resolve(change);
      }
    }
    const recorded = d.metadata?.annotations?.[this.#recordedKey];
    if (recorded !== e.recorded) {
      e.recorded = recorded;
      if (notify && recorded !== undefined && !this.firstRecordedAt.has(name)) this.firstRecordedAt.set(name, at);
      if (notify) {
        this.recordedChanges++;
        this.recordedFirstAt ??= at;
        this.recordedLastAt = at;
      }
    }
    e.revision = Number(d.metadata?.annotations?.[REVISION] ?? 0);
    e.generation = d.metadata?.generation ?? 0;
    e.observedGeneration = d.status?.observedGeneration ?? 0;
  }

  get size(): number {
    return this.#entries.size;
  }

  template(name: string, key: string): string | undefined {
    return this.#entries.get(name)?.template.get(key);
  }

  recorded(name: string): string | undefined {
    return this.#entries.get(name)?.recorded;
  }

  /** Revision (deployment.kubernetes.io/revision) of every Deployment: take one, then count rolls with rollsSince. */
  revisions(): Map<string, number> {
    return new Map([...this.#entries].map(([name, e]) => [name, e.revision]));
  }

  /**
   * Rolls of `names` since `before` (a revisions() reading), counted by the Deployment
   * controller's revision annotation — one new ReplicaSet per roll — never by generation.
   * Read once the controller has caught up (unobserved() === 0).
   */
  rollsSince(before: ReadonlyMap<string, number>, names: Iterable<string>): RollCount {
    const out: RollCount = { deployments: 0, rolls: 0, rolled: 0, missed: 0, duplicates: 0 };
    for (const name of names) {
      const now = this.#entries.get(name)?.revision ?? 0;
      const n = Math.max(0, now - (before.get(name) ?? 0));
      out.deployments++;
      out.rolls += n;
      if (n === 0) out.missed++;
      else out.rolled++;
      out.duplicates += Math.max(0, n - 1);
    }
    return out;
  }

  /** Deployments whose spec the Deployment controller has not processed yet. */
  unobserved(): number {
    let n = 0;
    for (const e of this.#entries.values()) if (e.observedGeneration < e.generation) n++;
    return n;
  }

  /** Deployments (of `names`) without a recorded digest. */
  unrecorded(names: Iterable<string>): number {
    let n = 0;
    for (const name of names) if (this.#entries.get(name)?.recorded === undefined) n++;
    return n;
  }

  /** Resolves with the next change of the template annotation `key` of Deployment `name`. */
  nextChange(name: string, key: string, timeoutMs: number): Promise<Change | undefined> {
    return new Promise((resolve) => {
      const id = `${name}|${key}`;
      const timer = setTimeout(() => {
        const list = this.#waiters.get(id)?.filter((r) => r !== done) ?? [];
        if (list.length > 0) this.#waiters.set(id, list);
        else this.#waiters.delete(id);
        resolve(undefined);
      }, timeoutMs);
      const done = (c: Change) => {
        clearTimeout(timer);
        resolve(c);
      };
      const list = this.#waiters.get(id) ?? [];
      list.push(done);
      this.#waiters.set(id, list);
    });
  }

  onChange(listener: (c: Change) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Template annotation changes of `key` seen at or after `since` (performance.now()). */
  changesSince(key: string, since: number): Change[] {
    return this.changes.filter((c) => c.key === key && c.at >= since);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stop();
    await this.#running;
  }
}

/** Polls `cond` every `everyMs` until true; false on timeout. */
export async function until(cond: () => boolean, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return cond();
}
