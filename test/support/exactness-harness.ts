// The harness of test/unit/exactness.test.ts: the operator's controllers against one in-memory
// API on one virtual clock, and what the exactness tests read off the cluster's write log —
// the rolls (operator writes that changed a pod template) and what a workload's pods run (the
// content of a config object when the workload's pod template was last written).
import type { Controller, ControllerSettings } from '../../src/controller.ts';
import { ApiError } from '../../src/kube/api-error.ts';
import { ControllerHarness, NS } from './controller-harness.ts';
import type { WriteRecord } from './fake-cluster.ts';
import { flushMicrotasks } from './virtual-clock.ts';

export { NS, type RecordedEvent } from './controller-harness.ts';

/** What a container reads: all of a ConfigMap or Secret (envFrom), or one key of it (env). */
export interface Ref {
  configMap?: string;
  secret?: string;
  key?: string;
  optional?: boolean;
}

type Data = Record<string, string>;

function container(refs: readonly Ref[], image: string) {
  const envFrom = refs.filter((r) => r.key === undefined).map((r) => {
    const ref = { name: r.secret ?? r.configMap!, ...(r.optional !== undefined ? { optional: r.optional } : {}) };
    return r.secret !== undefined ? { secretRef: ref } : { configMapRef: ref };
  });
  const env = refs.filter((r) => r.key !== undefined).map((r, i) => ({
    name: `K${i}`,
    valueFrom: r.secret !== undefined
      ? { secretKeyRef: { name: r.secret, key: r.key!, ...(r.optional !== undefined ? { optional: r.optional } : {}) } }
      : { configMapKeyRef: { name: r.configMap!, key: r.key!, ...(r.optional !== undefined ? { optional: r.optional } : {}) } },
  }));
  return { name: 'c', image, envFrom, env };
}

/** An opted-in workload of one container reading `refs`. */
export function workload(name: string, refs: Ref | readonly Ref[], opts: { image?: string; annotations?: Data } = {}) {
  return {
    metadata: { name, namespace: NS, annotations: { 'config-reload.dev/enabled': 'true', ...opts.annotations } },
    spec: {
      replicas: 1,
      template: { metadata: { labels: { app: name } }, spec: { containers: [container(Array.isArray(refs) ? refs : [refs as Ref], opts.image ?? 'app:1')] } },
    },
  };
}

export const configMap = (name: string, data: Data, annotations: Data = {}) => ({ metadata: { name, namespace: NS, annotations }, data });
export const secret = (name: string, data: Data) => ({ metadata: { name, namespace: NS }, data });

/** An edit of the first container's image (someone's rollout). */
export const setImage = (image: string) => (w: unknown) => {
  (w as { spec: { template: { spec: { containers: Array<{ image: string }> } } } }).spec.template.spec.containers[0]!.image = image;
};

/** A write of the log, with whether it wrote a pod template (its creation, or a change of spec.template). */
interface TemplateWrite extends WriteRecord {
  templateWritten: boolean;
}

/** The controller harness (./controller-harness.ts), with what the exactness tests read off the write log. */
export class Exactness extends ControllerHarness {
  /**
   * As the model test runs its histories: a leader started with events delivered as they
   * happen, then delivery under the test's control (deliver(), step(), quiesce()).
   */
  async manualLeader(settings: Partial<ControllerSettings>): Promise<Controller> {
    this.cluster.autoDeliver = true;
    const c = await this.leader(settings);
    this.cluster.autoDeliver = false;
    return c;
  }

  /** The watches of `plural` lost and history compacted: the reflector backs off, re-watches, gets 410 and relists. */
  async relist(plural: string): Promise<void> {
    this.cluster.compact();
    this.cluster.closeWatches(plural);
    await this.clock.advance(1000);
    await flushMicrotasks();
  }

  /** Makes merge patches fail (503, unapplied) until the returned function is called. */
  failPatches(): () => void {
    let failing = true;
    const mergePatch = this.cluster.mergePatch.bind(this.cluster);
    this.cluster.mergePatch = async (type, req) => {
      if (failing) throw new ApiError(503, JSON.stringify({ message: 'unavailable' }), 'PATCH');
      return mergePatch(type, req);
    };
    return () => void (failing = false);
  }

  /** One step of a history whose delivery the test controls: the step, then what it wakes runs. */
  async step(fn: () => unknown): Promise<void> {
    fn();
    await flushMicrotasks();
  }

  /**
   * With delivery under the test's control: every event delivered, every held answer released,
   * every queue timer fired, until the controller has nothing left to do.
   */
  async quiesce(controller: Controller): Promise<void> {
    const { cluster, clock } = this;
    const q = controller.queue;
    const idle = () => q.length === 0 && q.waiting === 0 && q.throttled === 0 && q.processing === 0
      && cluster.pending() === 0 && cluster.heldAnswers === 0;
    const mode = cluster.patchMode;
    cluster.patchMode = 'ok';
    for (let i = 0; i < 500 && !idle(); i++) {
      cluster.releaseAnswers();
      cluster.deliverAll();
      await flushMicrotasks();
      if (idle()) break;
      const next = clock.nextDue;
      await clock.advance(next === undefined ? 1000 : Math.max(0, Math.min(next - clock.now(), 10_000)));
    }
    if (!idle()) throw new Error('the controller did not quiesce');
    cluster.patchMode = mode;
  }

  /** The write log, each write marked with whether it wrote its object's pod template. */
  #templateWrites(): TemplateWrite[] {
    const last = new Map<string, string>();
    return this.cluster.writes.map((w) => {
      const id = `${w.plural}/${w.namespace}/${w.name}`;
      const template = JSON.stringify((w.object as { spec?: { template?: unknown } }).spec?.template);
      const written = w.type === 'ADDED' || (w.type === 'MODIFIED' && last.get(id) !== template);
      if (w.type === 'DELETED') last.delete(id);
      else last.set(id, template);
      return { ...w, templateWritten: written };
    });
  }

  /** The rolls: operator writes that changed a pod template (of `name`, when given). */
  rolls(name?: string): WriteRecord[] {
    return this.#templateWrites().filter((w) => w.by === 'operator' && w.templateWritten && (name === undefined || w.name === name));
  }

  /**
   * What the pods of a workload run of one config object: its data when the workload's pod
   * template was last written (undefined: absent then).
   */
  podsRun(workloadName: string, source: string, opts: { plural?: string; sourcePlural?: string } = {}): Data | undefined {
    const plural = opts.plural ?? 'deployments';
    const writes = this.#templateWrites();
    const written = writes.filter((w) => w.plural === plural && w.namespace === NS && w.name === workloadName && w.templateWritten).at(-1);
    if (!written) throw new Error(`no ${plural} ${workloadName} was written`);
    return this.#contentAt(opts.sourcePlural ?? 'configmaps', source, written.rv);
  }

  /** What the pods started by the write at `rv` (a roll) read of a config object. */
  podsRunAt(rv: number, source: string, sourcePlural = 'configmaps'): Data | undefined {
    return this.#contentAt(sourcePlural, source, rv);
  }

  /**
   * The config objects whose part a workload reads differs between what its pods run and what
   * is current (empty: its pods run the current configuration).
   */
  stale(workloadName: string, plural = 'deployments'): string[] {
    const written = this.#templateWrites().filter((w) => w.plural === plural && w.namespace === NS && w.name === workloadName && w.templateWritten).at(-1);
    if (!written) throw new Error(`no ${plural} ${workloadName} was written`);
    return readsOf(written.object).filter((r) => !samePart(r, this.#contentAt(r.plural, r.name, written.rv), this.#contentAt(r.plural, r.name, Infinity)))
      .map((r) => `${r.plural}/${r.name}${r.key !== undefined ? `[${r.key}]` : ''}`);
  }

  /**
   * The extra rolls: rolls after which the pods read, of everything they read, what the pods of
   * the workload's previous template write read already ("rv N: workload").
   */
  extraRolls(): string[] {
    const writes = this.#templateWrites();
    const extra: string[] = [];
    writes.forEach((roll, i) => {
      if (roll.by !== 'operator' || !roll.templateWritten) return;
      const before = writes.slice(0, i).filter((w) => w.plural === roll.plural && w.namespace === roll.namespace && w.name === roll.name && w.templateWritten).at(-1);
      if (!before) return;
      const same = readsOf(roll.object).every((r) => samePart(r, this.#contentAt(r.plural, r.name, before.rv), this.#contentAt(r.plural, r.name, roll.rv)));
      if (same) extra.push(`rv ${roll.rv}: ${roll.name}`);
    });
    return extra;
  }

  /** The data of a config object now (undefined: absent). */
  current(source: string, sourcePlural = 'configmaps'): Data | undefined {
    return this.#contentAt(sourcePlural, source, Infinity);
  }

  #contentAt(plural: string, name: string, beforeRv: number): Data | undefined {
    const last = this.cluster.writes.filter((w) => w.plural === plural && w.namespace === NS && w.name === name && w.rv < beforeRv).at(-1);
    if (!last || last.type === 'DELETED') return undefined;
    return { ...((last.object as { data?: Data }).data ?? {}) };
  }
}

interface Read {
  plural: 'configmaps' | 'secrets';
  name: string;
  /** One key (env valueFrom), or undefined: all of it (envFrom). */
  key: string | undefined;
}

interface ContainerRefs {
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  env?: Array<{ valueFrom?: { configMapKeyRef?: { name: string; key: string }; secretKeyRef?: { name: string; key: string } } }>;
}

/** What a workload's containers read of config objects (the references the harness's workloads use). */
function readsOf(object: unknown): Read[] {
  const containers = (object as { spec?: { template?: { spec?: { containers?: ContainerRefs[] } } } }).spec?.template?.spec?.containers ?? [];
  const reads: Read[] = [];
  for (const c of containers) {
    for (const f of c.envFrom ?? []) {
      if (f.configMapRef) reads.push({ plural: 'configmaps', name: f.configMapRef.name, key: undefined });
      if (f.secretRef) reads.push({ plural: 'secrets', name: f.secretRef.name, key: undefined });
    }
    for (const e of c.env ?? []) {
      const cm = e.valueFrom?.configMapKeyRef;
      const sec = e.valueFrom?.secretKeyRef;
      if (cm) reads.push({ plural: 'configmaps', name: cm.name, key: cm.key });
      if (sec) reads.push({ plural: 'secrets', name: sec.name, key: sec.key });
    }
  }
  return reads;
}

function samePart(read: Read, a: Data | undefined, b: Data | undefined): boolean {
  const sorted = (d: Data) => Object.fromEntries(Object.entries(d).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
  const part = (d: Data | undefined) => JSON.stringify(d === undefined ? null : read.key === undefined ? sorted(d) : d[read.key] ?? null);
  return part(a) === part(b);
}
