// The model test's language (test/unit/model.test.ts, bench/model-run.ts): what production does
// to the operator, as operations on the in-memory cluster and on the operator's own processes,
// and the fast-check arbitraries that generate histories of them. ./model-histories.ts runs them.
import fc from 'fast-check';

export const CONFIG_NAMES = ['one', 'two', 'three'] as const;
export const WORKLOAD_NAMES = ['api', 'db', 'web'] as const;

export type ConfigKind = 'cm' | 'secret';
export type ConfigName = (typeof CONFIG_NAMES)[number];
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];
/** A StatefulSet with either update strategy; DaemonSets and Deployments roll by themselves. */
export type WorkloadType = 'deploy' | 'sts' | 'stsOnDelete' | 'ds';
export type Plural = 'configmaps' | 'secrets' | 'deployments' | 'statefulsets' | 'daemonsets';
/** Where a pod template names a config object; *Items and keyRef read key `a` only. */
export type Shape = 'volume' | 'volumeItems' | 'projected' | 'projectedItems' | 'envFrom' | 'keyRef';
/**
 * The opt-in annotations: enabled true (also written ` True `), false, malformed (`yes`), the
 * configmaps or secrets annotation alone (naming `three`), and enabled=false next to the
 * configmaps annotation (naming `one` and `three`: only they are read).
 */
export type OptInSpec = 'true' | ' True ' | 'false' | 'yes' | 'named' | 'namedSecret' | 'falseNamed';
export type PatchMode = 'ok' | 'fail' | 'hold' | 'refuse';

export interface RefSpec {
  kind: ConfigKind;
  name: ConfigName;
  shape: Shape;
  optional: boolean;
}

export type Op =
  // Config objects (a Secret's data base64-encoded).
  | { op: 'put'; kind: ConfigKind; name: ConfigName; key: 'a' | 'b'; value: number }
  | { op: 'delete'; kind: ConfigKind; name: ConfigName }
  | { op: 'label'; kind: ConfigKind; name: ConfigName }
  /** Deleted and created again with the same content (helm --force, Argo CD Replace). */
  | { op: 'recreate'; kind: ConfigKind; name: ConfigName }
  | { op: 'ignore'; kind: ConfigKind; name: ConfigName; on: boolean }
  // Workloads. `settle`: let the operator finish before the next step (else the next step may
  // come before the adoption).
  | { op: 'create'; wl: WorkloadName; type: WorkloadType; refs: RefSpec[]; optIn: OptInSpec; settle: boolean }
  | { op: 'remove'; wl: WorkloadName }
  /** A user's rollout: a new image, and new references when `refs` is given. */
  | { op: 'template'; wl: WorkloadName; refs: RefSpec[] | null; image: number }
  /** The workload controller's status write (healthy, or failed once failRollout was said). */
  | { op: 'status'; wl: WorkloadName }
  | { op: 'optIn'; wl: WorkloadName; optIn: OptInSpec; settle: boolean }
  /** config-reload.dev/paused set to "true" or "false": no roll while paused; unpaused, it rolls iff its pods run other configuration. */
  | { op: 'pause'; wl: WorkloadName; on: boolean; settle: boolean }
  // The API between the cluster and the operator.
  | { op: 'deliver'; plural: Plural; n: number }
  | { op: 'answers' }
  | { op: 'patchMode'; mode: PatchMode }
  /** 410 Gone: history compacted and the watches of `plural` closed, so the operator relists it. */
  | { op: 'relist'; plural: Plural }
  /** The Secret watch refused (RBAC not effective yet, or revoked) or allowed again. */
  | { op: 'forbid'; plural: 'secrets'; on: boolean }
  /** From now on, through quiescence: the workload's patches are refused by a policy (422). */
  | { op: 'refuse'; wl: WorkloadName }
  /** From now on: the workload's rollouts fail (its status says so). */
  | { op: 'failRollout'; wl: WorkloadName }
  // Time and the operator's processes.
  | { op: 'advance'; ms: number }
  /** Deliver everything, answer everything, run every timer due: the operator catches up. */
  | { op: 'settle' }
  | { op: 'resync' }
  /** Every operator process replaced by a fresh one (a rollout of the operator, a crash). */
  | { op: 'restart' }
  /**
   * The leader loses its Lease (possibly mid-patch): with two replicas the warm standby leads and
   * the old leader comes back as a standby; with one, the leader comes back (a restart).
   */
  | { op: 'failover' };

export interface Settings {
  debounceMs: number;
  workers: number;
  adoptionQps: number;
  templateOrder: 'resource-version' | 'off';
  resyncPeriodMs: number;
  dryRun: boolean;
  /** 2: a warm standby runs beside the leader, and failover moves leadership. */
  replicas: 1 | 2;
  /** Waves: consumers of a config object read by more than `threshold` workloads roll canary first. */
  waves: { threshold: number; canarySize: number; waves: number } | null;
}

export const DEFAULT_SETTINGS: Settings = {
  debounceMs: 0, workers: 1, adoptionQps: 0, templateOrder: 'resource-version', resyncPeriodMs: 0, dryRun: false, replicas: 1, waves: null,
};

export const PLURAL_OF: Record<WorkloadType, Plural> = { deploy: 'deployments', sts: 'statefulsets', stsOnDelete: 'statefulsets', ds: 'daemonsets' };

const configKind = fc.constantFrom<ConfigKind>('cm', 'cm', 'secret');
// `three` is also what the configmaps and secrets annotations name; references mostly read one and two.
const configName = fc.constantFrom<ConfigName>('one', 'one', 'two', 'two', 'three');
const wl = fc.constantFrom(...WORKLOAD_NAMES);
const ref = fc.record({
  kind: configKind, name: configName,
  shape: fc.constantFrom<Shape>('volume', 'volumeItems', 'projected', 'projectedItems', 'envFrom', 'envFrom', 'keyRef', 'keyRef'),
  optional: fc.boolean(),
});
const refs = fc.uniqueArray(ref, { minLength: 1, maxLength: 2, selector: (r) => `${r.kind}/${r.name}` });
const optIn = fc.constantFrom<OptInSpec>('true', 'true', 'true', 'true', ' True ', 'false', 'yes', 'named', 'namedSecret', 'falseNamed');
const settle = fc.constantFrom(true, true, false);
const plural = fc.constantFrom<Plural>('configmaps', 'configmaps', 'secrets', 'deployments', 'deployments', 'statefulsets', 'daemonsets');
const op = <T extends Op['op']>(name: T) => fc.constant(name);

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ op: op('put'), kind: configKind, name: configName, key: fc.constantFrom<'a' | 'b'>('a', 'a', 'a', 'b'), value: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ op: op('delete'), kind: configKind, name: configName }) },
  { weight: 1, arbitrary: fc.record({ op: op('label'), kind: configKind, name: configName }) },
  { weight: 1, arbitrary: fc.record({ op: op('recreate'), kind: configKind, name: configName }) },
  { weight: 1, arbitrary: fc.record({ op: op('ignore'), kind: configKind, name: configName, on: fc.boolean() }) },
  { weight: 5, arbitrary: fc.record({ op: op('create'), wl, type: fc.constantFrom<WorkloadType>('deploy', 'deploy', 'sts', 'stsOnDelete', 'ds'), refs, optIn, settle }) },
  { weight: 1, arbitrary: fc.record({ op: op('remove'), wl }) },
  { weight: 3, arbitrary: fc.record({ op: op('template'), wl, refs: fc.option(refs, { nil: null }), image: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ op: op('status'), wl }) },
  { weight: 1, arbitrary: fc.record({ op: op('optIn'), wl, optIn, settle }) },
  { weight: 1, arbitrary: fc.record({ op: op('pause'), wl, on: fc.boolean(), settle }) },
  { weight: 8, arbitrary: fc.record({ op: op('deliver'), plural, n: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ op: op('answers') }) },
  { weight: 3, arbitrary: fc.record({ op: op('patchMode'), mode: fc.constantFrom<PatchMode>('ok', 'ok', 'fail', 'hold', 'hold', 'refuse') }) },
  { weight: 2, arbitrary: fc.record({ op: op('relist'), plural }) },
  { weight: 1, arbitrary: fc.record({ op: op('forbid'), plural: fc.constant('secrets' as const), on: fc.boolean() }) },
  { weight: 5, arbitrary: fc.record({ op: op('advance'), ms: fc.constantFrom(0, 100, 600, 1000, 1500, 5000, 5000, 301_000) }) },
  { weight: 2, arbitrary: fc.record({ op: op('settle') }) },
  { weight: 1, arbitrary: fc.record({ op: op('resync') }) },
  { weight: 1, arbitrary: fc.record({ op: op('restart') }) },
  { weight: 1, arbitrary: fc.record({ op: op('failover') }) },
  // A workload refused for good is exempt from the miss check (nothing can roll it); with waves,
  // so are the consumers its wave holds back, provided the operator says so (WaveHeld).
  { weight: 1, arbitrary: fc.record({ op: op('refuse'), wl }) },
  { weight: 1, arbitrary: fc.record({ op: op('failRollout'), wl }) },
);

export const settingsArb: fc.Arbitrary<Settings> = fc.record({
  debounceMs: fc.constantFrom(0, 1000),
  workers: fc.constantFrom(1, 2),
  // adoptionQps 1: adoptions wait behind rolls long enough for changes to arrive before them.
  adoptionQps: fc.constantFrom(0, 1),
  templateOrder: fc.constantFrom<Settings['templateOrder']>('resource-version', 'resource-version', 'resource-version', 'off'),
  resyncPeriodMs: fc.constantFrom(0, 0, 0, 30_000),
  dryRun: fc.constantFrom(false, false, false, false, false, false, false, false, false, true),
  replicas: fc.constantFrom<1 | 2>(1, 1, 2),
  waves: fc.oneof(
    { weight: 3, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.record({ threshold: fc.constantFrom(1, 2), canarySize: fc.constant(1), waves: fc.constantFrom(1, 2) }) },
  ),
});

export const MAX_OPS = 35;
// size 'max': lengths spread up to MAX_OPS (fast-check's default size keeps arrays near 6 operations,
// too short for a workload to be created, adopted, changed and rolled with faults in between).
export const opsArb: fc.Arbitrary<Op[]> = fc.array(opArb, { minLength: 1, maxLength: MAX_OPS, size: 'max' });
