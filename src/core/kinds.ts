// The workload kinds the operator can watch and patch: every resource whose pod template sits at
// `spec.template` (docs/workload-kinds.md). The three of apps/v1 are always served; the others
// are custom resources, named on --workload-kinds by `plural.group` and turned on only while
// discovery shows their CRD (src/controller/workload-kinds.ts). Everything the rest of the code
// needs to know of a kind is here: its API coordinates, its flag and explain names, how its
// status says "healthy" (for the waves), and whether its template lives elsewhere.
import type { HealthRule } from './health.ts';

export interface WorkloadKindSpec {
  /** The API's Kind (Events' involvedObject.kind, keys' prefix). */
  readonly kind: string;
  /** '' for the core group; 'apps', 'argoproj.io', … */
  readonly group: string;
  /**
   * The version the operator reads and writes. Discovery checks that the group serves it with
   * `plural`; another preferred version is not used: the paths read here are this version's.
   */
  readonly version: string;
  readonly plural: string;
  /** The name on --workload-kinds: `plural` for apps/v1, else `plural.group`. */
  readonly flag: string;
  /** Extra names `explain KIND/NAME` accepts (lower case). */
  readonly aliases: readonly string[];
  /** Always served (apps/v1): no discovery. */
  readonly builtIn: boolean;
  /** How its status says healthy; none: healthy once its template is written (docs/workload-kinds.md). */
  readonly health: HealthRule | undefined;
  /**
   * The object takes its pod template from another one (an Argo Rollout's `spec.workloadRef`):
   * it is not a workload of its own, and the operator never writes a template into it — the
   * annotation belongs on the object it refers to (docs/workload-kinds.md).
   */
  readonly templateElsewhere?: (spec: Readonly<Record<string, unknown>> | undefined) => boolean;
}

export const WORKLOAD_KINDS = {
  Deployment: {
    kind: 'Deployment', group: 'apps', version: 'v1', plural: 'deployments', flag: 'deployments',
    aliases: ['deployment', 'deploy'], builtIn: true, health: 'Deployment',
  },
  StatefulSet: {
    kind: 'StatefulSet', group: 'apps', version: 'v1', plural: 'statefulsets', flag: 'statefulsets',
    aliases: ['statefulset', 'sts'], builtIn: true, health: 'StatefulSet',
  },
  DaemonSet: {
    kind: 'DaemonSet', group: 'apps', version: 'v1', plural: 'daemonsets', flag: 'daemonsets',
    aliases: ['daemonset', 'ds'], builtIn: true, health: 'DaemonSet',
  },
  // Argo Rollouts (pkg/apis/rollouts/v1alpha1): `spec.template`, or none with `spec.workloadRef`,
  // where the Rollout controller reads the referenced Deployment's template instead.
  Rollout: {
    kind: 'Rollout', group: 'argoproj.io', version: 'v1alpha1', plural: 'rollouts', flag: 'rollouts.argoproj.io',
    aliases: ['rollout', 'rollouts', 'ro'], builtIn: false, health: 'Rollout',
    templateElsewhere: (spec) => spec?.['workloadRef'] !== undefined && spec['workloadRef'] !== null,
  },
  // OpenKruise CloneSet (apis/apps/v1alpha1): `spec.template`, status like a Deployment's.
  CloneSet: {
    kind: 'CloneSet', group: 'apps.kruise.io', version: 'v1alpha1', plural: 'clonesets', flag: 'clonesets.apps.kruise.io',
    aliases: ['cloneset', 'clonesets', 'clone'], builtIn: false, health: 'CloneSet',
  },
  // Knative Serving Service (serving.knative.dev/v1): `spec.template` is a revision template; a
  // change of it makes a new Revision. Health: the Ready condition.
  Service: {
    kind: 'Service', group: 'serving.knative.dev', version: 'v1', plural: 'services', flag: 'services.serving.knative.dev',
    aliases: ['ksvc', 'kservice', 'services.serving.knative.dev'], builtIn: false, health: 'ReadyCondition',
  },
} as const satisfies Record<string, WorkloadKindSpec>;

/** A workload kind: a key of the table above. */
export type WorkloadKind = keyof typeof WORKLOAD_KINDS;

export const BUILT_IN_KINDS: readonly WorkloadKind[] = ['Deployment', 'StatefulSet', 'DaemonSet'];

export function kindSpec(kind: WorkloadKind): WorkloadKindSpec {
  return WORKLOAD_KINDS[kind];
}

/** Every kind, in the table's order. */
export const ALL_KINDS = Object.keys(WORKLOAD_KINDS) as WorkloadKind[];

/** --workload-kinds names → kinds. */
export const KINDS_BY_FLAG: Readonly<Record<string, WorkloadKind>> = Object.fromEntries(ALL_KINDS.map((k) => [WORKLOAD_KINDS[k].flag, k]));

/** `explain` names (kind, plural, flag name and aliases, lower case) → kinds. */
export const KINDS_BY_NAME: Readonly<Record<string, WorkloadKind>> = Object.fromEntries(ALL_KINDS.flatMap((k) => {
  const s: WorkloadKindSpec = WORKLOAD_KINDS[k];
  // A Knative Service is never `service`/`services`: that is the core Service.
  const own = k === 'Service' ? [] : [s.kind.toLowerCase(), s.plural];
  return [...own, s.flag, `${s.kind.toLowerCase()}.${s.group}`, ...s.aliases].map((name) => [name, k] as const);
}));

/** `group/version` (apiVersion). */
export function apiVersionOf(kind: WorkloadKind): string {
  const s = kindSpec(kind);
  return s.group === '' ? s.version : `${s.group}/${s.version}`;
}

/** Whether the object of this kind takes its pod template from another one (never written). */
export function templateElsewhere(kind: WorkloadKind, spec: unknown): boolean {
  const test = kindSpec(kind).templateElsewhere;
  return test !== undefined && test(spec as Readonly<Record<string, unknown>> | undefined);
}
