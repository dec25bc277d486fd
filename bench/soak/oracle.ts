// The soak's oracle: an independent model of the README's rules (Rules, Ordering), fed by its
// own watches of ConfigMaps, Deployments and ReplicaSets. It shares no code with src/.
//
// What it records: every ConfigMap state (content changes are told apart from rewrites with the
// same data), every Deployment state, and who wrote each Deployment change — the operator is the
// only writer of `config-reload.dev/config-hash` (metadata or template), the soak's driver the
// only writer of everything else in the pod template. A "roll" is an operator write that changes
// the template's config-hash: each starts a rollout (a new ReplicaSet, or an old one scaled back
// up when the template returns to an earlier one). Rolls are judged on these writes, which see
// even rolls the Deployment controller coalesced; every checkpoint also checks, on the
// ReplicaSets, that each Deployment's current template reached a ReplicaSet with all replicas.
//
// Definitions (per Deployment, identified by uid; "view" = the values of the keys it consumes of
// each ConfigMap it consumes, with absence as a value; consumed = per the opt-in annotations and
// template references it has now):
// - The pods' baseline: the resourceVersion of the last pod-template write (creation, a driver
//   edit or an operator roll) — its pods run the configuration of that moment — or of the
//   operator's first adoption (adoption accepts the configuration of its moment, without
//   rolling). A template edit after a config change therefore carries it.
// - missed roll (state, at a quiescent checkpoint): an opted-in Deployment whose required
//   ConfigMaps exist and whose view at its baseline differs from its view now. Also: opted in,
//   required ConfigMaps present, and no recorded digest (never adopted).
// - roll at adoption: the operator's first write to a Deployment with no recorded digest
//   changes its template, though no consumed key changed since that template was written (a
//   change between the operator's first sight and the adoption rolls: changed_before_adoption).
// - write to an opted-out workload: any operator write to a Deployment not opted in (its patch
//   carries the resourceVersion it decided on, so a decision made before an opt-out is refused).
// - extra roll (no roll without a change, no duplicate per burst): a roll at resourceVersion w
//   is justified when (1) the consumed view changed after the last template write before w
//   (the pods' configuration changed), or (2) the view the operator's previous write accounted
//   for (its references and the configuration at that write) differs from the view at w, or
//   changed in between — the recorded digest was stale; a template edit after the change would
//   carry it, but the contract rolls when the order cannot be established (an edit made before
//   the deciding process started, or found by a relist) — or (3) a consumed change reached the
//   oracle less than RACE_MS before the operator's previous write (that write may have been
//   decided before the change reached the operator: its digest then lacks it, and a second roll
//   is due). Anything else is an extra roll: a second roll for one burst, a roll on a
//   same-content rewrite, a label edit or a change to a key not consumed.
// Conservative on purpose where the contract allows either outcome: whether the operator could
// date a template change (it rolls when it cannot), re-opting in with a stale recorded digest
// (roll, or re-record then carried by a later template write), and a roll racing a change.
import type { Kube } from '../lib/kube.ts';
import {
  type ConfigMapObject, contentOf, type DeploymentObject, HASH, optInOf, type OptIn, type Ref, type ReplicaSetObject,
  REVISION, rvOf, templateFingerprint,
} from './objects.ts';
import { ResourceWatcher } from './watcher.ts';

/** How long before the operator's previous write a change may have reached the oracle but not yet the operator. */
export const RACE_MS = 3000;

export type ViolationKind =
  | 'missed-roll' | 'not-adopted' | 'extra-roll' | 'roll-at-adoption' | 'write-to-opted-out' | 'rollout-stuck' | 'unresponsive'
  | 'memory-growth' | 'harness';

export interface Finding {
  kind: ViolationKind;
  workload: string;
  uid?: string;
  rv?: number;
  detail: string;
}

interface CmState {
  rv: number;
  seenAt: number;
  values: Record<string, string> | undefined;
  content: string | undefined;
}

interface Snap {
  rv: number;
  seenAt: number;
  optIn: OptIn;
  metaHash: string | undefined;
  tmplHash: string | undefined;
  fp: string;
  generation: number;
  observedGeneration: number;
  replicas: number;
  statusReplicas: number;
  updated: number;
  available: number;
  revision: string | undefined;
}

interface OpWrite {
  rv: number;
  seenAt: number;
  roll: boolean;
  optedIn: boolean;
  hadHash: boolean;
  refs: Ref[];
  audited: boolean;
}

interface DRec {
  ns: string;
  name: string;
  uid: string;
  last: Snap;
  deleted: boolean;
  /** Pod-template writes: creation, driver edits, operator rolls. */
  templateWrites: Array<{ rv: number; by: 'create' | 'driver' | 'operator' }>;
  opWrites: OpWrite[];
  firstAdoptionRv: number | undefined;
}

interface RsRec {
  owner: string | undefined;
  tmplHash: string | undefined;
  revision: string | undefined;
  deleted: boolean;
}

export interface WindowAudit {
  rolls: number;
  adoptions: number;
  otherWrites: number;
  racedRolls: number;
  /** Rolls justified only because the operator could not date a template change (allowed). */
  undatedRolls: number;
  expectedRollsAtLeast: number;
  findings: Finding[];
}

export class Oracle {
  readonly #cms = new Map<string, CmState[]>();
  readonly #deployments = new Map<string, DRec>();
  readonly #replicaSets = new Map<string, RsRec>();
  /** ReplicaSets created for soak Deployments (ADDED events). */
  newReplicaSets = 0;
  readonly harness: Finding[] = [];
  /** Stale pods accepted because the configuration returned to what the operator recorded. */
  readonly abaAccepted = new Set<string>();
  readonly #watchers: Array<ResourceWatcher<never>>;
  readonly #cmWatch: ResourceWatcher<ConfigMapObject>;
  readonly #dWatch: ResourceWatcher<DeploymentObject>;
  readonly #rsWatch: ResourceWatcher<ReplicaSetObject>;

  readonly #judged: (namespace: string) => boolean;

  /** `inScope`: namespaces watched (fences included); `judged`: those whose workloads are checked. */
  constructor(kube: Kube, inScope: (namespace: string) => boolean, judged: (namespace: string) => boolean) {
    this.#judged = judged;
    this.#cmWatch = new ResourceWatcher<ConfigMapObject>(kube, '/api/v1/configmaps', inScope, (t, o, at) => this.#onConfigMap(t, o, at));
    this.#dWatch = new ResourceWatcher<DeploymentObject>(kube, '/apis/apps/v1/deployments', inScope, (t, o, at) => this.#onDeployment(t, o, at));
    this.#rsWatch = new ResourceWatcher<ReplicaSetObject>(kube, '/apis/apps/v1/replicasets', inScope, (t, o) => this.#onReplicaSet(t, o));
    this.#watchers = [this.#cmWatch, this.#dWatch, this.#rsWatch] as Array<ResourceWatcher<never>>;
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
  caughtUp(fence: { configmaps: number; deployments: number; replicasets: number }): boolean {
    return this.#cmWatch.seenRv >= fence.configmaps && this.#dWatch.seenRv >= fence.deployments && this.#rsWatch.seenRv >= fence.replicasets;
  }

  // ---- recording ---------------------------------------------------------------------------

  #onConfigMap(type: string, cm: ConfigMapObject, seenAt: number): void {
    const key = `${cm.metadata?.namespace}/${cm.metadata?.name}`;
    const history = this.#cms.get(key) ?? [];
    const values = type === 'DELETED' ? undefined : { ...(cm.binaryData ?? {}), ...(cm.data ?? {}) };
    history.push({ rv: rvOf(cm), seenAt, values, content: type === 'DELETED' ? undefined : contentOf(cm) });
    this.#cms.set(key, history);
  }

  #onDeployment(type: string, d: DeploymentObject, seenAt: number): void {
    const uid = d.metadata?.uid ?? '';
    const snap = snapOf(d, seenAt);
    const rec = this.#deployments.get(uid);
    if (!rec) {
      this.#deployments.set(uid, {
        ns: d.metadata?.namespace ?? '', name: d.metadata?.name ?? '', uid, last: snap, deleted: type === 'DELETED',
        templateWrites: [{ rv: snap.rv, by: 'create' }], opWrites: [], firstAdoptionRv: undefined,
      });
      if (snap.metaHash !== undefined || snap.tmplHash !== undefined) {
        this.harness.push({ kind: 'harness', workload: `${d.metadata?.namespace}/${d.metadata?.name}`, uid, rv: snap.rv, detail: 'first seen with a config-hash: the oracle missed its earlier events' });
      }
      return;
    }
    if (type === 'DELETED') {
      rec.deleted = true;
      rec.last = snap;
      return;
    }
    const prev = rec.last;
    rec.last = snap;
    const byOperator = snap.metaHash !== prev.metaHash || snap.tmplHash !== prev.tmplHash;
    const byDriver = snap.fp !== prev.fp;
    const workload = `${rec.ns}/${rec.name}`;
    if (byOperator && byDriver) {
      this.harness.push({ kind: 'harness', workload, uid, rv: snap.rv, detail: 'one event changed both the config-hash and the rest of the template: a gap in the oracle\'s watch?' });
    }
    if (byDriver) rec.templateWrites.push({ rv: snap.rv, by: 'driver' });
    if (!byOperator) return;
    const roll = snap.tmplHash !== prev.tmplHash;
    if (roll) rec.templateWrites.push({ rv: snap.rv, by: 'operator' });
    const hadHash = prev.metaHash !== undefined;
    if (!roll && !hadHash && rec.firstAdoptionRv === undefined) rec.firstAdoptionRv = snap.rv;
    rec.opWrites.push({ rv: snap.rv, seenAt, roll, optedIn: snap.optIn.optedIn && prev.optIn.optedIn, hadHash, refs: snap.optIn.refs, audited: false });
  }

  #onReplicaSet(type: string, rs: ReplicaSetObject): void {
    const uid = rs.metadata?.uid ?? '';
    const owner = rs.metadata?.ownerReferences?.find((o) => o.kind === 'Deployment')?.uid;
    if (type === 'ADDED' && !this.#replicaSets.has(uid) && owner) this.newReplicaSets++;
    this.#replicaSets.set(uid, {
      owner, tmplHash: rs.spec?.template?.metadata?.annotations?.[HASH], revision: rs.metadata?.annotations?.[REVISION], deleted: type === 'DELETED',
    });
  }

  // ---- views -------------------------------------------------------------------------------

  #cmAt(ns: string, name: string, rv: number): CmState | undefined {
    const history = this.#cms.get(`${ns}/${name}`);
    if (!history) return undefined;
    for (let i = history.length - 1; i >= 0; i--) if ((history[i] as CmState).rv <= rv) return history[i];
    return undefined;
  }

  /** What pods started at `rv` would read, given these references. */
  #view(ns: string, refs: Ref[], rv: number): string {
    const byName = new Map<string, Set<string> | null>();
    for (const r of refs) {
      const seen = byName.get(r.name);
      if (r.keys === null || seen === null) byName.set(r.name, null);
      else byName.set(r.name, new Set([...(seen ?? []), ...r.keys]));
    }
    return [...byName.keys()].sort().map((name) => `${name}=${project(this.#cmAt(ns, name, rv)?.values, toKeys(byName.get(name)))}`).join(' ');
  }

  /** Versions in (after, before) at which the consumed projection of a ConfigMap in `refs` changed. */
  #projectedChanges(ns: string, refs: Ref[], after: number, before: number): Array<{ rv: number; seenAt: number }> {
    const out: Array<{ rv: number; seenAt: number }> = [];
    for (const r of refs) {
      const history = this.#cms.get(`${ns}/${r.name}`) ?? [];
      let prev: string | undefined = project(undefined, r.keys);
      for (const s of history) {
        const now = project(s.values, r.keys);
        if (now !== prev && s.rv < before && s.rv > after) out.push({ rv: s.rv, seenAt: s.seenAt });
        prev = now;
      }
    }
    return out;
  }

  #requiredMissing(rec: DRec, rv: number): boolean {
    return rec.last.optIn.refs.some((r) => !r.optional && this.#cmAt(rec.ns, r.name, rv)?.values === undefined);
  }

  /**
   * The contract's catch-up compares digests only: when the configuration returns to what the
   * operator's last write recorded (A-B-A) while no leader saw a template edit in between, the
   * pods may run B and nothing rolls. The recorded digest may stand for any configuration from
   * the previous operator write to the last one (a decision can be made on a view a little older
   * than its write): a current view among those is accepted, and counted.
   */
  #recordedMatches(rec: DRec, current: string): boolean {
    const last = rec.opWrites[rec.opWrites.length - 1];
    if (!last) return false;
    const from = rec.opWrites[rec.opWrites.length - 2]?.rv ?? last.rv;
    const refs = rec.last.optIn.refs;
    const versions = [from, last.rv, ...this.#projectedChanges(rec.ns, refs, from, last.rv).map((c) => c.rv)];
    const match = versions.some((v) => this.#view(rec.ns, refs, v) === current);
    if (match) this.abaAccepted.add(`${rec.ns}/${rec.name}@${last.rv}`);
    return match;
  }

  #baseline(rec: DRec): number {
    const lastTemplate = rec.templateWrites[rec.templateWrites.length - 1]?.rv ?? 0;
    return Math.max(lastTemplate, rec.firstAdoptionRv ?? 0);
  }

  // ---- checks ------------------------------------------------------------------------------

  /**
   * What keeps the system from being settled at version `now` (every watch caught up to it):
   * missed rolls, workloads not adopted, rollouts not complete. Empty when settled.
   */
  pending(now: number): Finding[] {
    const out: Finding[] = [];
    for (const rec of this.#deployments.values()) {
      if (rec.deleted || !this.#judged(rec.ns)) continue;
      const workload = `${rec.ns}/${rec.name}`;
      const s = rec.last;
      if (s.optIn.optedIn && !this.#requiredMissing(rec, now)) {
        if (s.metaHash === undefined) {
          out.push({ kind: 'not-adopted', workload, uid: rec.uid, rv: s.rv, detail: 'opted in, its required ConfigMaps exist, and no digest is recorded' });
        } else {
          const base = this.#baseline(rec);
          const running = this.#view(rec.ns, s.optIn.refs, base);
          const current = this.#view(rec.ns, s.optIn.refs, now);
          if (running !== current && !this.#recordedMatches(rec, current)) {
            out.push({ kind: 'missed-roll', workload, uid: rec.uid, rv: base, detail: `pods started at rv ${base} read ${running}; the configuration now is ${current}` });
          }
        }
      }
      const rsOk = [...this.#replicaSets.values()].some((r) => !r.deleted && r.owner === rec.uid && r.revision === s.revision && r.tmplHash === s.tmplHash);
      const complete = s.observedGeneration >= s.generation && s.updated === s.replicas && s.statusReplicas === s.replicas && s.available === s.replicas;
      if (!rsOk || !complete) {
        out.push({ kind: 'rollout-stuck', workload, uid: rec.uid, rv: s.rv, detail: `rollout not complete: ${rsOk ? '' : 'no ReplicaSet carries the current template\'s digest at the current revision; '}generation ${s.generation}/${s.observedGeneration} observed, replicas ${s.statusReplicas}, updated ${s.updated}, available ${s.available} of ${s.replicas}` });
      }
    }
    return out;
  }

  /**
   * Audits every operator write up to version `upTo` not audited yet (each once), and counts the
   * rolls the window needed at least: Deployments whose view at the window's end differs from
   * their view at the later of the window's start and their last non-operator baseline.
   */
  audit(windowStart: number, upTo: number): WindowAudit {
    const result: WindowAudit = { rolls: 0, adoptions: 0, otherWrites: 0, racedRolls: 0, undatedRolls: 0, expectedRollsAtLeast: 0, findings: [] };
    for (const rec of this.#deployments.values()) {
      if (!this.#judged(rec.ns)) continue;
      const workload = `${rec.ns}/${rec.name}`;
      for (let i = 0; i < rec.opWrites.length; i++) {
        const w = rec.opWrites[i] as OpWrite;
        if (w.audited || w.rv > upTo) continue;
        w.audited = true;
        if (w.roll) result.rolls++;
        else if (!w.hadHash) result.adoptions++;
        else result.otherWrites++;
        if (!w.optedIn) result.findings.push({ kind: 'write-to-opted-out', workload, uid: rec.uid, rv: w.rv, detail: `the operator wrote ${w.roll ? 'a roll' : 'its digest'} to a workload that is not opted in` });
        if (!w.roll) continue;
        const lastTemplate = [...rec.templateWrites].reverse().find((t) => t.rv < w.rv)?.rv ?? 0;
        if (!w.hadHash) {
          // A consumed key changed after the operator could have first seen the workload (its
          // template's last write) and before its adoption: a roll is due (changed_before_adoption).
          if (this.#projectedChanges(rec.ns, w.refs, lastTemplate, w.rv).length > 0) continue;
          result.findings.push({ kind: 'roll-at-adoption', workload, uid: rec.uid, rv: w.rv, detail: 'the first write to a workload with no recorded digest changed its pod template, and no consumed key had changed since its template was written' });
          continue;
        }
        const prevWrite = i > 0 ? (rec.opWrites[i - 1] as OpWrite) : undefined;
        // (1) The configuration its pods read changed since their template was written.
        if (this.#projectedChanges(rec.ns, w.refs, lastTemplate, w.rv).length > 0) continue;
        // (2) The recorded digest was stale: what is consumed now (references included: a
        // template edit may change them) differs from what the previous write accounted for.
        // A template edit after the change would carry it, but the contract rolls when the
        // order cannot be established (an edit made before this process started, a relist).
        if (prevWrite && (this.#view(rec.ns, prevWrite.refs, prevWrite.rv) !== this.#view(rec.ns, w.refs, w.rv)
          || this.#projectedChanges(rec.ns, w.refs, prevWrite.rv, w.rv).length > 0)) {
          result.undatedRolls++;
          continue;
        }
        const m = Math.min(lastTemplate, prevWrite?.rv ?? lastTemplate);
        result.findings.push({
          kind: 'extra-roll', workload, uid: rec.uid, rv: w.rv,
          detail: `rolled at rv ${w.rv} though no consumed key changed since rv ${m} (last template write ${lastTemplate}, previous operator write ${prevWrite?.rv ?? 'none'})`,
        });
      }
      if (rec.deleted || !rec.last.optIn.optedIn || rec.last.metaHash === undefined || this.#requiredMissing(rec, upTo)) continue;
      const nonOperator = Math.max(windowStart, rec.firstAdoptionRv ?? 0, ...rec.templateWrites.filter((t) => t.by !== 'operator').map((t) => t.rv));
      if (this.#view(rec.ns, rec.last.optIn.refs, nonOperator) !== this.#view(rec.ns, rec.last.optIn.refs, upTo)) result.expectedRollsAtLeast++;
    }
    return result;
  }
}

function project(values: Record<string, string> | undefined, keys: readonly string[] | null): string {
  if (values === undefined) return 'absent';
  const chosen = keys === null ? Object.keys(values).sort() : [...keys].sort();
  return `{${chosen.map((k) => `${k}:${values[k] ?? '∅'}`).join(',')}}`;
}

function snapOf(d: DeploymentObject, seenAt: number): Snap {
  return {
    rv: rvOf(d),
    seenAt,
    optIn: optInOf(d),
    metaHash: d.metadata?.annotations?.[HASH],
    tmplHash: d.spec?.template?.metadata?.annotations?.[HASH],
    fp: templateFingerprint(d.spec?.template),
    generation: d.metadata?.generation ?? 0,
    observedGeneration: d.status?.observedGeneration ?? 0,
    replicas: d.spec?.replicas ?? 1,
    statusReplicas: d.status?.replicas ?? 0,
    updated: d.status?.updatedReplicas ?? 0,
    available: d.status?.availableReplicas ?? 0,
    revision: d.metadata?.annotations?.[REVISION],
  };
}

const toKeys = (keys: Set<string> | null | undefined): string[] | null => (keys ? [...keys] : null);
