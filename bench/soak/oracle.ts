// The soak's oracle: the model test's judge (test/support/pods-oracle.ts, which shares no code
// with src/) fed from the soak's own watches of ConfigMaps, Deployments and the operator's Lease,
// plus the soak's checks of rollouts on ReplicaSets. One set of rules for both: pods run the
// consumed keys as they were at their workload's last pod-template write by anyone; an operator
// roll onto what the pods run already is an extra roll, an opted-in workload whose pods run other
// configuration at quiescence a missed roll (see the pods oracle's header for its leniencies).
//
// How the soak feeds it:
// - Events are buffered as the watches deliver them and fed in resourceVersion order up to the
//   version every watch has delivered (feed(), at each quiescent checkpoint, after a fence).
// - A Deployment write is the operator's when it changed one of its annotations (config-hash,
//   record, restart; metadata or template), anyone else's otherwise; templateChanged compares
//   spec.template whole.
// - The acting replica of an operator write is the Lease holder at its resourceVersion (the
//   Lease is watched and fed in the same order); a holder released empty keeps the last one.
// - What each replica could not see (./windows.ts): its first list (listed(identity, 0, at)),
//   and the proxy faults that cut or stall watches (blind() at the start, listed() 10 s after the
//   end). A warm standby that takes over gets no window.
// - What a replica had seen when it wrote (the pods oracle's stale-view leniency): the operator
//   logs it with each write (`views`: the version each of its watches had reached, and the
//   write's `resourceVersion`), which ./windows.ts hands over (viewsOf). A write whose line has
//   not arrived is taken to have seen, outside fault windows, everything committed before it (the
//   leniency is then off), inside one (any fault, to 10 s after its end) nothing committed after
//   the window opened.
import type { Kube } from '../lib/kube.ts';
import { PodsOracle } from '../../test/support/pods-oracle.ts';
import {
  type ConfigMapObject, canonical, type DeploymentObject, HASH, type KubeObject, type LeaseObject, operatorMarks, type ReplicaSetObject,
  REVISION, rvOf, templateFingerprint,
} from './objects.ts';
import { ResourceWatcher } from './watcher.ts';

type WriteRecord = Parameters<PodsOracle['observe']>[0];
type Plural = 'configmaps' | 'deployments' | 'leases';
export const PLURALS = ['configmaps', 'deployments'] as const;

export type ViolationKind =
  | 'missed-roll' | 'not-adopted' | 'extra-roll' | 'write-to-opted-out' | 'rollout-stuck' | 'unresponsive' | 'memory-growth' | 'harness';

export interface Finding {
  kind: ViolationKind;
  workload: string;
  uid?: string;
  rv?: number;
  detail: string;
}

interface Buffered {
  plural: Plural;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  rv: number;
}

interface Rollout {
  workload: string;
  tmplHash: string | undefined;
  revision: string | undefined;
  generation: number;
  observedGeneration: number;
  replicas: number;
  statusReplicas: number;
  updated: number;
  available: number;
}

/** A stretch of versions, from a fault's start to 10 s after its end (`to` unset while open). */
export interface LagWindow {
  from: number;
  to?: number;
}

export interface WindowAudit {
  rolls: number;
  operatorWrites: number;
  findings: Finding[];
}

export class Oracle {
  readonly #pods = new PodsOracle();
  readonly #lease: string;
  readonly #judged: (namespace: string) => boolean;
  #buffer: Buffered[] = [];
  /** The last version fed. */
  #fed = 0;
  /** Per Deployment uid: its state as last fed, and its name. */
  readonly #deployments = new Map<string, DeploymentObject>();
  readonly #names = new Map<string, string>();
  #holder: string | undefined;
  readonly #lag: LagWindow[] = [];
  /** Per operator write (its resourceVersion): what its replica's watches had reached, as it logged. */
  readonly #views = new Map<number, Partial<Record<(typeof PLURALS)[number], number>>>();
  #findings: Finding[] = [];
  #audited = { rolls: 0, operatorWrites: 0 };
  /** Rollouts and ReplicaSets as the watches deliver them (not fed: read at checkpoints). */
  readonly #rollouts = new Map<string, Rollout>();
  readonly #replicaSets = new Map<string, { owner: string | undefined; tmplHash: string | undefined; revision: string | undefined }>();
  /** ReplicaSets created for soak Deployments (ADDED events). */
  newReplicaSets = 0;
  readonly harness: Finding[] = [];
  readonly #watchers: Array<ResourceWatcher<never>>;
  readonly #cmWatch: ResourceWatcher<ConfigMapObject>;
  readonly #dWatch: ResourceWatcher<DeploymentObject>;
  readonly #rsWatch: ResourceWatcher<ReplicaSetObject>;
  readonly #leaseWatch: ResourceWatcher<LeaseObject>;

  /**
   * `inScope`: namespaces watched (fences included); `judged`: those whose workloads are checked;
   * `controlNamespace` and `lease`: where the operator's leader-election Lease is.
   */
  constructor(kube: Kube, inScope: (namespace: string) => boolean, judged: (namespace: string) => boolean, controlNamespace: string, lease: string) {
    this.#judged = judged;
    this.#lease = lease;
    const buffer = (plural: Plural) => (type: Buffered['type'], object: KubeObject) => void this.#buffer.push({ plural, type, object, rv: rvOf(object) });
    const onDeployment = buffer('deployments');
    this.#cmWatch = new ResourceWatcher<ConfigMapObject>(kube, '/api/v1/configmaps', inScope, buffer('configmaps'));
    this.#dWatch = new ResourceWatcher<DeploymentObject>(kube, '/apis/apps/v1/deployments', inScope, (t, d) => {
      onDeployment(t, d);
      this.#onRollout(t, d);
    });
    this.#rsWatch = new ResourceWatcher<ReplicaSetObject>(kube, '/apis/apps/v1/replicasets', inScope, (t, o) => this.#onReplicaSet(t, o));
    this.#leaseWatch = new ResourceWatcher<LeaseObject>(kube, `/apis/coordination.k8s.io/v1/namespaces/${controlNamespace}/leases`, () => true, buffer('leases'));
    this.#watchers = [this.#cmWatch, this.#dWatch, this.#rsWatch, this.#leaseWatch] as Array<ResourceWatcher<never>>;
  }

  async start(): Promise<void> {
    for (const w of this.#watchers) await w.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.#watchers.map((w) => w.stop()));
  }

  get gaps(): number {
    return this.#watchers.reduce((s, w) => s + w.gaps, 0);
  }

  /** True once every watch has delivered events up to these versions (a fence write of each type). */
  caughtUp(fence: { configmaps: number; deployments: number; replicasets: number; leases: number }): boolean {
    return this.#cmWatch.seenRv >= fence.configmaps && this.#dWatch.seenRv >= fence.deployments
      && this.#rsWatch.seenRv >= fence.replicasets && this.#leaseWatch.seenRv >= fence.leases;
  }

  // ---- what the replicas saw (told by ./windows.ts) -----------------------------------------

  /** `identity` listed ConfigMaps and Deployments at `at`, having watched them up to `since` (0: its first list). */
  listed(identity: string, since: number, at: Record<(typeof PLURALS)[number], number>): void {
    for (const plural of PLURALS) this.#pods.listed(identity, plural, since, at[plural]);
  }

  /** `identity`'s watches may be cut from after `since` until its next listed(). */
  blind(identity: string, since: number): void {
    for (const plural of PLURALS) this.#pods.blind(identity, plural, since);
  }

  /** An operator's log line for one of its writes: what its watches had reached when it decided. */
  viewsOf(rv: number, views: Partial<Record<(typeof PLURALS)[number], number>>): void {
    this.#views.set(rv, views);
  }

  /** A fault window: what a replica writing inside it had seen may stop at its start. */
  lagging(window: LagWindow): void {
    this.#lag.push(window);
  }

  // ---- feeding -------------------------------------------------------------------------------

  /** Feeds the pods oracle every buffered event up to the version all its watches delivered. */
  feed(): void {
    const bound = Math.min(this.#cmWatch.seenRv, this.#dWatch.seenRv, this.#leaseWatch.seenRv);
    const ready = this.#buffer.filter((e) => e.rv <= bound).sort((a, b) => a.rv - b.rv);
    this.#buffer = this.#buffer.filter((e) => e.rv > bound);
    for (const e of ready) {
      // Equal or older: fed already (an object a relist after a gap delivered again).
      if (!(e.rv > this.#fed)) continue;
      this.#fed = e.rv;
      const ns = e.object.metadata?.namespace ?? '';
      if (e.plural === 'leases') {
        const holder = (e.object as LeaseObject).spec?.holderIdentity;
        if (e.object.metadata?.name === this.#lease && holder) this.#holder = holder;
      } else if (this.#judged(ns)) {
        if (e.plural === 'configmaps') this.#observe(e, 'user', false, undefined);
        else this.#deployment(e);
      }
    }
  }

  #deployment(e: Buffered): void {
    const d = e.object as DeploymentObject;
    const uid = d.metadata?.uid ?? '';
    const workload = `${d.metadata?.namespace}/${d.metadata?.name}`;
    const prev = this.#deployments.get(uid);
    this.#names.set(uid, workload);
    if (e.type === 'DELETED') this.#deployments.delete(uid);
    else this.#deployments.set(uid, d);
    if (prev === undefined || e.type === 'DELETED') {
      if (prev === undefined && operatorMarks(d) !== operatorMarks(undefined)) {
        this.harness.push({ kind: 'harness', workload, uid, rv: e.rv, detail: 'first seen with the operator\'s annotations: the oracle missed its earlier events' });
      }
      this.#observe(e, 'user', false, undefined);
      return;
    }
    const byOperator = operatorMarks(prev) !== operatorMarks(d);
    if (byOperator && templateFingerprint(prev.spec?.template) !== templateFingerprint(d.spec?.template)) {
      this.harness.push({ kind: 'harness', workload, uid, rv: e.rv, detail: 'one event changed both the operator\'s annotations and the rest of the template: a gap in the oracle\'s watch?' });
    }
    const templateChanged = canonical(prev.spec?.template) !== canonical(d.spec?.template);
    if (!byOperator) {
      this.#observe(e, 'user', templateChanged, undefined);
      return;
    }
    const actor = this.#holder ?? 'unknown';
    const seen = this.#seenAt(e.rv);
    const logged = this.#views.get(e.rv);
    this.#views.delete(e.rv);
    for (const plural of PLURALS) this.#pods.seen(actor, plural, logged?.[plural] ?? seen);
    const before = this.#pods.violations.length;
    this.#observe(e, 'operator', templateChanged, actor);
    for (const v of this.#pods.violations.splice(before)) {
      const kind: ViolationKind = v.includes('not opted in') ? 'write-to-opted-out' : v.includes('extra roll') ? 'extra-roll' : 'harness';
      const lag = logged ? `; its watches had reached ${PLURALS.map((p) => `${p} ${logged[p] ?? '?'}`).join(', ')}`
        : seen < e.rv - 1 ? `; inside a fault window: taken to have seen up to rv ${seen}` : '';
      this.#findings.push({ kind, workload, uid, rv: e.rv, detail: `${v} (acting replica: the Lease holder ${actor}${lag})` });
    }
  }

  #observe(e: Buffered, by: string, templateChanged: boolean, actor: string | undefined): void {
    const meta = e.object.metadata ?? {};
    const write: WriteRecord = {
      rv: e.rv, plural: e.plural, namespace: meta.namespace ?? '', name: meta.name ?? '', type: e.type, by, templateChanged,
      object: e.object as WriteRecord['object'], ...(actor !== undefined ? { actor } : {}),
    };
    this.#pods.observe(write);
  }

  /** What a replica writing at `rv` is taken to have seen: see the header. */
  #seenAt(rv: number): number {
    const inside = this.#lag.filter((w) => w.from < rv && (w.to === undefined || rv <= w.to));
    return inside.length > 0 ? Math.min(...inside.map((w) => w.from)) : rv - 1;
  }

  // ---- checks --------------------------------------------------------------------------------

  /**
   * Feeds what the watches delivered, then returns what keeps the system from being settled:
   * missed rolls and workloads never adopted (the pods oracle at quiescence), rollouts not
   * complete on their ReplicaSets. Empty when settled. Asking again is harmless.
   */
  pending(): Finding[] {
    this.feed();
    const out: Finding[] = [];
    const before = this.#pods.violations.length;
    // The leader at quiescence: what it could not see excuses the pods oracle's one residual.
    this.#pods.checkQuiescent(this.#holder !== undefined ? { actor: this.#holder } : {});
    for (const v of this.#pods.violations.splice(before)) {
      const uid = /\(([^)]+)\)/.exec(v)?.[1] ?? '';
      out.push({ kind: v.includes('never adopted') ? 'not-adopted' : 'missed-roll', workload: this.#names.get(uid) ?? '?', uid, rv: this.#fed, detail: v });
    }
    for (const [uid, r] of this.#rollouts) {
      const rsOk = [...this.#replicaSets.values()].some((rs) => rs.owner === uid && rs.revision === r.revision && rs.tmplHash === r.tmplHash);
      const complete = r.observedGeneration >= r.generation && r.updated === r.replicas && r.statusReplicas === r.replicas && r.available === r.replicas;
      if (!rsOk || !complete) {
        out.push({ kind: 'rollout-stuck', workload: r.workload, uid, detail: `rollout not complete: ${rsOk ? '' : 'no ReplicaSet carries the current template\'s digest at the current revision; '}generation ${r.generation}/${r.observedGeneration} observed, replicas ${r.statusReplicas}, updated ${r.updated}, available ${r.available} of ${r.replicas}` });
      }
    }
    return out;
  }

  /** The operator writes fed since the last audit: counts, and the violations the pods oracle found in them. */
  audit(): WindowAudit {
    const result = { rolls: this.#pods.rolls - this.#audited.rolls, operatorWrites: this.#pods.operatorWrites - this.#audited.operatorWrites, findings: this.#findings };
    this.#audited = { rolls: this.#pods.rolls, operatorWrites: this.#pods.operatorWrites };
    this.#findings = [];
    return result;
  }

  #onRollout(type: string, d: DeploymentObject): void {
    const uid = d.metadata?.uid ?? '';
    if (type === 'DELETED' || !this.#judged(d.metadata?.namespace ?? '')) {
      this.#rollouts.delete(uid);
      return;
    }
    this.#rollouts.set(uid, {
      workload: `${d.metadata?.namespace}/${d.metadata?.name}`, tmplHash: d.spec?.template?.metadata?.annotations?.[HASH], revision: d.metadata?.annotations?.[REVISION],
      generation: d.metadata?.generation ?? 0, observedGeneration: d.status?.observedGeneration ?? 0, replicas: d.spec?.replicas ?? 1,
      statusReplicas: d.status?.replicas ?? 0, updated: d.status?.updatedReplicas ?? 0, available: d.status?.availableReplicas ?? 0,
    });
  }

  #onReplicaSet(type: string, rs: ReplicaSetObject): void {
    const uid = rs.metadata?.uid ?? '';
    const owner = rs.metadata?.ownerReferences?.find((o) => o.kind === 'Deployment')?.uid;
    if (type === 'ADDED' && !this.#replicaSets.has(uid) && owner) this.newReplicaSets++;
    if (type === 'DELETED') this.#replicaSets.delete(uid);
    else this.#replicaSets.set(uid, { owner, tmplHash: rs.spec?.template?.metadata?.annotations?.[HASH], revision: rs.metadata?.annotations?.[REVISION] });
  }
}
