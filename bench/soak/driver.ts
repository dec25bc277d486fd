// The soak's workload: a seeded sequence of what users and controllers do to ConfigMaps and
// Deployments, applied at a steady rate with the admin's credentials (never through the fault
// proxy). The driver keeps its own model of what exists and draws every choice from the seeded
// Rng, never from what it observes, so one seed names one sequence of events: a violation is
// replayed with `--seed S --until-event I` (the timing differs, the sequence does not).
// Operator and fault events are handed to the callbacks the soak gives it.
import type { Kube } from '../lib/kube.ts';
import type { Rng } from '../../test/support/rng.ts';
import { pollInterval } from './poll.ts';

export type EventType =
  | 'cm-same-content' | 'cm-change' | 'cm-burst' | 'cm-delete' | 'cm-recreate'
  | 'template-edit' | 'change-then-template-edit' | 'deployment-delete' | 'deployment-recreate'
  | 'opt-out' | 'opt-in' | 'scale' | 'namespace-delete' | 'namespace-recreate'
  | 'operator-kill' | 'leader-failover' | 'operator-graceful-restart' | 'proxy-fault';

/** Events that act on one existing Deployment of the namespace (drawn before the event). */
const ON_A_DEPLOYMENT: ReadonlySet<EventType> = new Set<EventType>(['template-edit', 'change-then-template-edit', 'deployment-delete', 'opt-out', 'scale']);

const WEIGHTS: Record<EventType, number> = {
  'cm-same-content': 12, 'cm-change': 24, 'cm-burst': 7, 'cm-delete': 2, 'cm-recreate': 4,
  'template-edit': 6, 'change-then-template-edit': 3, 'deployment-delete': 1.5, 'deployment-recreate': 3,
  'opt-out': 2.5, 'opt-in': 3.5, 'scale': 4, 'namespace-delete': 0.12, 'namespace-recreate': 3,
  'operator-kill': 0.14, 'leader-failover': 0.16, 'operator-graceful-restart': 0.07, 'proxy-fault': 0.5,
};

export interface AppliedEvent {
  index: number;
  type: EventType;
  target: string;
  /** The resourceVersion of the event's last write (0 for operator and fault events). */
  rv: number;
  at: number;
  detail?: string;
}

type RefMode = 'volume' | 'envFrom' | 'keyRef';
interface RefModel { cm: string; mode: RefMode; optional: boolean }
type OptMode = 'enabled' | 'named' | 'both' | 'out';

interface DeploymentModel {
  refs: RefModel[];
  named: string[];
  opt: OptMode;
  replicas: number;
  edit: number;
}

interface NamespaceModel {
  name: string;
  live: boolean;
  configMaps: Map<string, Record<string, string> | undefined>;
  deployments: Map<string, DeploymentModel | undefined>;
}

export interface DriverOptions {
  prefix: string;
  namespaces: number;
  configMapsPerNamespace: number;
  deploymentsPerNamespace: number;
  /** Operator and fault events are applied by the soak (may be absent: the event is then drawn but skipped). */
  operatorEvent(type: 'operator-kill' | 'leader-failover' | 'operator-graceful-restart', rng: Rng): Promise<string>;
  faultEvent?(rng: Rng): Promise<string>;
}

const VALUES = ['a', 'b', 'c', 'd'];
const KEYS = ['level', 'extra', 'other'];

export class Driver {
  readonly #kube: Kube;
  readonly #rng: Rng;
  readonly #o: DriverOptions;
  readonly #namespaces: NamespaceModel[] = [];
  readonly applied: AppliedEvent[] = [];
  readonly counts: Partial<Record<EventType, number>> = {};
  #touch = 0;
  #lastRv = 0;

  constructor(kube: Kube, rng: Rng, o: DriverOptions) {
    this.#kube = kube;
    this.#rng = rng;
    this.#o = o;
    for (let i = 0; i < o.namespaces; i++) {
      this.#namespaces.push({ name: `${o.prefix}-${i}`, live: false, configMaps: new Map(), deployments: new Map() });
    }
  }

  get namespaceNames(): string[] {
    return this.#namespaces.map((n) => n.name);
  }

  /** Creates every namespace with its ConfigMaps and Deployments. */
  async setup(): Promise<void> {
    for (const ns of this.#namespaces) await this.#createNamespace(ns);
  }

  /** Draws and applies event `index`. */
  async step(index: number): Promise<AppliedEvent> {
    const rng = this.#rng;
    const live = this.#namespaces.filter((n) => n.live);
    const dead = this.#namespaces.filter((n) => !n.live);
    const weights = { ...WEIGHTS };
    if (dead.length === 0) weights['namespace-recreate'] = 0;
    if (live.length < 2) weights['namespace-delete'] = 0;
    if (!this.#o.faultEvent) weights['proxy-fault'] = 0;
    const type = rng.weighted(weights);
    // Namespace draws come first and always happen, so that the sequence depends on the seed only.
    const ns = rng.pick(live.length > 0 ? live : this.#namespaces);
    this.#lastRv = 0;
    let target = ns.name;
    let detail: string | undefined;
    // Events on an existing Deployment draw it here, once; a namespace whose Deployments were all
    // deleted has none, and the event is skipped.
    const picked = ON_A_DEPLOYMENT.has(type) ? this.#existingDeployment(ns) : undefined;
    const name = picked ?? '';
    const existing = picked === undefined ? undefined : ns.deployments.get(picked);
    // Read only by the cases of ON_A_DEPLOYMENT, where it exists.
    const d = existing as DeploymentModel;
    if (picked !== undefined && existing === undefined) detail = 'skipped: no Deployment exists';
    else switch (type) {
      case 'cm-same-content': {
        const name = this.#existingConfigMap(ns);
        target = `${ns.name}/${name}`;
        // A write with identical data: a label changes so the apiserver records it (an identical
        // object would not even be written).
        await this.#patchConfigMap(ns.name, name, { metadata: { labels: { 'soak/touch': String(++this.#touch) } } });
        break;
      }
      case 'cm-change': {
        const name = this.#existingConfigMap(ns);
        target = `${ns.name}/${name}`;
        detail = await this.#changeConfigMap(ns, name);
        break;
      }
      case 'cm-burst': {
        // A helm upgrade or `kubectl apply -f dir/`: several ConfigMaps of a namespace at once.
        const names = rng.sample([...ns.configMaps.keys()].filter((n) => ns.configMaps.get(n) !== undefined), 2 + rng.int(2));
        target = `${ns.name}/{${names.join(',')}}`;
        await Promise.all(names.map((n) => this.#changeConfigMap(ns, n)));
        break;
      }
      case 'cm-delete': {
        const name = this.#existingConfigMap(ns);
        target = `${ns.name}/${name}`;
        if ([...ns.configMaps.values()].filter((v) => v !== undefined).length > 1) {
          await this.#kube.requestRetry('DELETE', `/api/v1/namespaces/${ns.name}/configmaps/${name}`);
          ns.configMaps.set(name, undefined);
        } else {
          detail = 'skipped: last ConfigMap';
        }
        break;
      }
      case 'cm-recreate': {
        const gone = [...ns.configMaps.keys()].filter((n) => ns.configMaps.get(n) === undefined);
        const name = gone.length > 0 ? rng.pick(gone) : undefined;
        const data = this.#randomData();
        if (name) {
          target = `${ns.name}/${name}`;
          await this.#createConfigMap(ns, name, data);
        } else {
          detail = 'skipped: none deleted';
        }
        break;
      }
      case 'template-edit': {
        target = `${ns.name}/${name}`;
        detail = await this.#editTemplate(ns, name, d);
        break;
      }
      case 'change-then-template-edit': {
        // A helm upgrade changing a ConfigMap and the image of a Deployment that consumes it:
        // the template edit, written after the change, carries it.
        const consumed = d.refs.map((r) => r.cm).filter((c) => ns.configMaps.get(c) !== undefined);
        const cm = consumed.length > 0 ? rng.pick(consumed) : this.#existingConfigMap(ns);
        target = `${ns.name}/${cm} then ${name}`;
        await this.#changeConfigMap(ns, cm);
        d.edit++;
        await this.#patchDeployment(ns.name, name, { spec: { template: { spec: { containers: [{ name: 'app', image: `registry.example/app:${d.edit}` }] } } } });
        break;
      }
      case 'deployment-delete': {
        target = `${ns.name}/${name}`;
        await this.#kube.requestRetry('DELETE', `/apis/apps/v1/namespaces/${ns.name}/deployments/${name}`, { propagationPolicy: 'Background' });
        ns.deployments.set(name, undefined);
        break;
      }
      case 'deployment-recreate': {
        const gone = [...ns.deployments.keys()].filter((n) => ns.deployments.get(n) === undefined);
        const model = this.#randomDeployment(ns);
        if (gone.length > 0) {
          const name = rng.pick(gone);
          target = `${ns.name}/${name}`;
          await this.#createDeployment(ns, name, model);
        } else {
          detail = 'skipped: none deleted';
        }
        break;
      }
      case 'opt-out': {
        target = `${ns.name}/${name}`;
        d.opt = 'out';
        const removeEnabled = rng.chance(0.5);
        await this.#patchDeployment(ns.name, name, { metadata: { annotations: { 'config-reload.dev/enabled': removeEnabled ? null : 'false', 'config-reload.dev/configmaps': null } } });
        break;
      }
      case 'opt-in': {
        const outs = [...ns.deployments.entries()].filter(([, d]) => d?.opt === 'out').map(([n]) => n);
        const mode = rng.pick(['enabled', 'named', 'both'] as const);
        if (outs.length > 0) {
          const name = rng.pick(outs);
          const d = ns.deployments.get(name) as DeploymentModel;
          target = `${ns.name}/${name}`;
          d.opt = mode;
          await this.#patchDeployment(ns.name, name, { metadata: { annotations: optAnnotations(d) } });
          detail = mode;
        } else {
          detail = 'skipped: none opted out';
        }
        break;
      }
      case 'scale': {
        target = `${ns.name}/${name}`;
        d.replicas = rng.pick([0, 1, 2]);
        await this.#patchDeployment(ns.name, name, { spec: { replicas: d.replicas } });
        detail = `replicas ${d.replicas}`;
        break;
      }
      case 'namespace-delete': {
        target = ns.name;
        await this.#kube.requestRetry('DELETE', `/api/v1/namespaces/${ns.name}`);
        ns.live = false;
        break;
      }
      case 'namespace-recreate': {
        const gone = rng.pick(dead.length > 0 ? dead : this.#namespaces);
        target = gone.name;
        if (!gone.live) await this.#createNamespace(gone);
        else detail = 'skipped: live';
        break;
      }
      case 'operator-kill':
      case 'leader-failover':
      case 'operator-graceful-restart':
        target = 'operator';
        detail = await this.#o.operatorEvent(type, rng);
        break;
      case 'proxy-fault':
        target = 'proxy';
        detail = this.#o.faultEvent ? await this.#o.faultEvent(rng) : 'skipped: no proxy';
        break;
    }
    this.counts[type] = (this.counts[type] ?? 0) + 1;
    const event: AppliedEvent = { index, type, target, rv: this.#lastRv, at: Date.now(), ...(detail ? { detail } : {}) };
    this.applied.push(event);
    return event;
  }

  /** The index of the last event applied at or before resourceVersion `rv` (for replay). */
  eventAt(rv: number): number | undefined {
    let best: number | undefined;
    for (const e of this.applied) if (e.rv > 0 && e.rv <= rv) best = e.index;
    return best;
  }

  // ---- objects ------------------------------------------------------------------------------

  async #createNamespace(ns: NamespaceModel): Promise<void> {
    // A deleted namespace is finalized asynchronously: wait until it is gone (a deadline, not a pause).
    const deadline = Date.now() + 180_000;
    for (;;) {
      const res = await this.#kube.requestRetry('POST', '/api/v1/namespaces', { metadata: { name: ns.name } }, 'application/json', (s) => s === 409);
      if (res.status !== 409) break;
      if (Date.now() > deadline) throw new Error(`namespace ${ns.name} still terminating after 180 s`);
      await pollInterval(500);
    }
    ns.live = true;
    ns.configMaps.clear();
    ns.deployments.clear();
    for (let i = 0; i < this.#o.configMapsPerNamespace; i++) await this.#createConfigMap(ns, `cm-${i}`, this.#randomData());
    for (let i = 0; i < this.#o.deploymentsPerNamespace; i++) await this.#createDeployment(ns, `app-${i}`, this.#randomDeployment(ns));
  }

  #randomData(): Record<string, string> {
    return Object.fromEntries(KEYS.map((k) => [k, this.#rng.pick(VALUES)]));
  }

  #randomDeployment(ns: NamespaceModel): DeploymentModel {
    const rng = this.#rng;
    const cms = [...ns.configMaps.keys()];
    const refs = rng.sample(cms, 1 + rng.int(2)).map((cm): RefModel => ({ cm, mode: rng.pick(['volume', 'envFrom', 'keyRef'] as const), optional: rng.chance(0.3) }));
    const named = rng.chance(0.25) ? rng.sample(cms, 1) : [];
    const opt = rng.weighted({ enabled: 6, named: 1, both: 1, out: 2 } as Record<OptMode, number>);
    return { refs, named, opt: opt === 'named' && named.length === 0 ? 'enabled' : opt, replicas: rng.pick([0, 1, 1, 1, 2]), edit: 0 };
  }

  #existingConfigMap(ns: NamespaceModel): string {
    const names = [...ns.configMaps.keys()].filter((n) => ns.configMaps.get(n) !== undefined);
    return this.#rng.pick(names.length > 0 ? names : [...ns.configMaps.keys()]);
  }

  #existingDeployment(ns: NamespaceModel): string {
    const names = [...ns.deployments.keys()].filter((n) => ns.deployments.get(n) !== undefined);
    return this.#rng.pick(names.length > 0 ? names : [...ns.deployments.keys()]);
  }

  async #changeConfigMap(ns: NamespaceModel, name: string): Promise<string> {
    const data = ns.configMaps.get(name);
    const key = this.#rng.pick(KEYS);
    const value = this.#rng.pick(VALUES.filter((v) => v !== data?.[key]));
    if (data === undefined) {
      // Deleted meanwhile (a burst that drew it): the change is its re-creation.
      await this.#createConfigMap(ns, name, { ...Object.fromEntries(KEYS.map((k) => [k, 'a'])), [key]: value });
      return `recreated with ${key}=${value}`;
    }
    data[key] = value;
    await this.#patchConfigMap(ns.name, name, { data: { [key]: value } });
    return `${key}=${value}`;
  }

  async #createConfigMap(ns: NamespaceModel, name: string, data: Record<string, string>): Promise<void> {
    ns.configMaps.set(name, { ...data });
    const res = await this.#kube.requestRetry<{ metadata: { resourceVersion: string } }>('POST', `/api/v1/namespaces/${ns.name}/configmaps`, { metadata: { name }, data });
    this.#noteRv(res.body.metadata.resourceVersion);
  }

  async #patchConfigMap(ns: string, name: string, patch: unknown): Promise<void> {
    const res = await this.#kube.requestRetry<{ metadata: { resourceVersion: string } }>('PATCH', `/api/v1/namespaces/${ns}/configmaps/${name}`, patch, 'application/merge-patch+json');
    this.#noteRv(res.body.metadata.resourceVersion);
  }

  async #createDeployment(ns: NamespaceModel, name: string, d: DeploymentModel): Promise<void> {
    ns.deployments.set(name, d);
    const res = await this.#kube.requestRetry<{ metadata: { resourceVersion: string } }>('POST', `/apis/apps/v1/namespaces/${ns.name}/deployments`, deploymentObject(name, d));
    this.#noteRv(res.body.metadata.resourceVersion);
  }

  async #patchDeployment(ns: string, name: string, patch: unknown): Promise<void> {
    const type = Array.isArray(patch) ? 'application/json-patch+json' : 'application/strategic-merge-patch+json';
    const res = await this.#kube.requestRetry<{ metadata: { resourceVersion: string } }>('PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/${name}`, patch, type);
    this.#noteRv(res.body.metadata.resourceVersion);
  }

  async #editTemplate(ns: NamespaceModel, name: string, d: DeploymentModel): Promise<string> {
    if (this.#rng.chance(0.4)) {
      // New references: the whole pod spec is replaced (a PUT-like edit of the template).
      const fresh = this.#randomDeployment(ns);
      d.refs = fresh.refs;
      d.edit++;
      await this.#patchDeployment(ns.name, name, [{ op: 'replace', path: '/spec/template/spec', value: podSpec(d) }]);
      return `references ${d.refs.map((r) => `${r.cm}:${r.mode}${r.optional ? '?' : ''}`).join(',')}`;
    }
    d.edit++;
    await this.#patchDeployment(ns.name, name, { spec: { template: { spec: { containers: [{ name: 'app', env: [{ name: 'EDIT', value: String(d.edit) }] }] } } } });
    return `env EDIT=${d.edit}`;
  }

  #noteRv(rv: string): void {
    this.#lastRv = Math.max(this.#lastRv, Number(rv));
  }
}

function optAnnotations(d: DeploymentModel): Record<string, string | null> {
  switch (d.opt) {
    case 'enabled': return { 'config-reload.dev/enabled': 'true', 'config-reload.dev/configmaps': null };
    case 'named': return { 'config-reload.dev/enabled': null, 'config-reload.dev/configmaps': d.named.join(', ') || d.refs[0]?.cm || 'cm-0' };
    case 'both': return { 'config-reload.dev/enabled': 'true', 'config-reload.dev/configmaps': d.named.join(', ') || d.refs[0]?.cm || 'cm-0' };
    case 'out': return { 'config-reload.dev/enabled': 'false', 'config-reload.dev/configmaps': null };
  }
}

function podSpec(d: DeploymentModel): Record<string, unknown> {
  const volumes = d.refs.filter((r) => r.mode === 'volume').map((r, i) => ({ name: `cfg-${i}`, configMap: { name: r.cm, optional: r.optional } }));
  return {
    containers: [{
      name: 'app',
      image: `registry.example/app:${d.edit}`,
      env: [
        { name: 'EDIT', value: String(d.edit) },
        ...d.refs.filter((r) => r.mode === 'keyRef').map((r, i) => ({ name: `LEVEL_${i}`, valueFrom: { configMapKeyRef: { name: r.cm, key: 'level', optional: r.optional } } })),
      ],
      envFrom: d.refs.filter((r) => r.mode === 'envFrom').map((r) => ({ configMapRef: { name: r.cm, optional: r.optional } })),
      volumeMounts: volumes.map((v) => ({ name: v.name, mountPath: `/${v.name}` })),
    }],
    volumes,
    terminationGracePeriodSeconds: 0,
  };
}

function deploymentObject(name: string, d: DeploymentModel): Record<string, unknown> {
  const annotations = Object.fromEntries(Object.entries(optAnnotations(d)).filter(([, v]) => v !== null));
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, annotations },
    spec: {
      replicas: d.replicas,
      selector: { matchLabels: { app: name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '100%', maxUnavailable: 0 } },
      template: { metadata: { labels: { app: name } }, spec: podSpec(d) },
    },
  };
}
