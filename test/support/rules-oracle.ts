// An independent model of the operator's rules, for tests that drive the operator against the
// in-memory FakeCluster. It shares no code with src/: it reads the writes the cluster applied,
// in resourceVersion order, and keeps for every Deployment what its running pods were started
// with (the "view": the values of the ConfigMap keys it consumes at the moment its current pod
// template was written). It reports a violation when
// - the operator writes to a Deployment that is not opted in;
// - an operator roll follows no change to any ConfigMap the Deployment consumes since its
//   current pod template was written (an extra roll: a duplicate, or a template change that
//   already carried the configuration) — at ConfigMap granularity, as the rule is stated;
// - at quiescence, an opted-in, adopted Deployment whose required ConfigMaps exist runs a view
//   that differs from the current configuration (a missed roll), or an opted-in one was never
//   adopted.
// Adoption (the operator's first metadata write) accepts the configuration of that moment; a
// roll as the first write (a consumed ConfigMap changed before the adoption) must follow a change.
import type { WriteRecord } from './fake-cluster.ts';

type Data = Record<string, string>;

interface Ref {
  name: string;
  /** null: the whole ConfigMap. */
  key: string | null;
  optional: boolean;
}

interface DeploymentModel {
  name: string;
  revisionRv: number;
  /** Every ConfigMap's data when the current pod template was written (what its pods read). */
  revisionConfig: ReadonlyMap<string, Data>;
  adopted: boolean;
  optedIn: boolean;
  refs: Ref[];
}

export class RulesOracle {
  readonly violations: string[] = [];
  readonly #configMaps = new Map<string, Data>();
  readonly #contentChanges = new Map<string, number[]>();
  readonly #deployments = new Map<string, DeploymentModel>();
  rolls = 0;

  observe(write: WriteRecord): void {
    if (write.plural === 'configmaps') this.#configMap(write);
    else if (write.plural === 'deployments') this.#deployment(write);
  }

  /** Checks the state after the operator has processed everything. */
  checkQuiescent(): void {
    for (const [uid, d] of this.#deployments) {
      if (!d.optedIn) continue;
      if (!d.adopted) {
        this.violations.push(`${d.name} (${uid}): opted in but never adopted`);
        continue;
      }
      const missingRequired = d.refs.filter((r) => !r.optional && !this.#configMaps.has(r.name));
      if (missingRequired.length > 0) continue;
      // Compared over what the operator is asked to watch now (an annotation edit changes that).
      const running = view(d.refs, d.revisionConfig);
      const now = view(d.refs, this.#configMaps);
      if (now !== running) this.violations.push(`${d.name} (${uid}): missed roll — pods run ${running}, configuration is ${now}`);
    }
  }

  #configMap(write: WriteRecord): void {
    const before = this.#configMaps.get(write.name);
    const after = write.type === 'DELETED' ? undefined : { ...((write.object as { data?: Data }).data ?? {}) };
    if (after === undefined) this.#configMaps.delete(write.name);
    else this.#configMaps.set(write.name, after);
    if (JSON.stringify(before) !== JSON.stringify(after)) {
      const changes = this.#contentChanges.get(write.name) ?? [];
      changes.push(write.rv);
      this.#contentChanges.set(write.name, changes);
    }
  }

  #deployment(write: WriteRecord): void {
    const uid = write.object.metadata.uid ?? '';
    if (write.type === 'DELETED') {
      this.#deployments.delete(uid);
      return;
    }
    const annotations = write.object.metadata.annotations ?? {};
    const optIn = readOptIn(annotations);
    // enabled=true watches the pod template's references; the configmaps annotation alone
    // watches only the ConfigMaps it names.
    const refs = [...(optIn.referenced ? readRefs(write.object) : []), ...optIn.named.map((name): Ref => ({ name, key: null, optional: true }))];
    const model = this.#deployments.get(uid);
    if (write.type === 'ADDED' || model === undefined) {
      this.#deployments.set(uid, { name: write.name, revisionRv: write.rv, revisionConfig: this.#snapshot(), adopted: false, optedIn: optIn.in, refs });
      return;
    }
    model.optedIn = optIn.in;
    model.refs = refs;
    if (write.by !== 'operator') {
      if (write.templateChanged) {
        model.revisionRv = write.rv;
        model.revisionConfig = this.#snapshot();
      }
      return;
    }
    if (!optIn.in) this.violations.push(`rv ${write.rv}: operator wrote to ${write.name}, which is not opted in`);
    if (write.templateChanged) {
      this.rolls++;
      const consumed = new Set(refs.map((r) => r.name));
      const changed = [...consumed].some((name) => (this.#contentChanges.get(name) ?? []).some((rv) => rv > model.revisionRv && rv < write.rv));
      if (!changed && !model.adopted) {
        this.violations.push(`rv ${write.rv}: operator rolled ${write.name} at adoption, and no consumed ConfigMap changed since its pod template was written at rv ${model.revisionRv}`);
      } else if (!changed) {
        this.violations.push(`rv ${write.rv}: extra roll of ${write.name} — no consumed ConfigMap changed since its pod template was written at rv ${model.revisionRv}`);
      }
      // A roll as the first write is an adoption too (a change arrived before the adoption did).
      model.adopted = true;
      model.revisionRv = write.rv;
      model.revisionConfig = this.#snapshot();
    } else if (!model.adopted) {
      model.adopted = true;
      model.revisionRv = write.rv;
      model.revisionConfig = this.#snapshot();
    }
  }

  #snapshot(): ReadonlyMap<string, Data> {
    return new Map(this.#configMaps);
  }
}

/** What pods would read from `config`: per consumed ConfigMap, the consumed keys' values. */
function view(refs: Ref[], config: ReadonlyMap<string, Data>): string {
  const byName = new Map<string, Set<string> | null>();
  for (const ref of refs) {
    const seen = byName.get(ref.name);
    if (ref.key === null || seen === null) byName.set(ref.name, null);
    else byName.set(ref.name, new Set([...(seen ?? []), ref.key]));
  }
  const parts = [...byName.keys()].sort().map((name) => {
    const data = config.get(name);
    if (data === undefined) return `${name}=absent`;
    const keys = byName.get(name);
    const chosen = keys === null || keys === undefined ? Object.keys(data).sort() : [...keys].sort();
    return `${name}={${chosen.map((k) => `${k}:${data[k] ?? '∅'}`).join(',')}}`;
  });
  return parts.join(' ');
}

function readOptIn(annotations: Record<string, string>): { in: boolean; referenced: boolean; named: string[] } {
const enabled = annotations['config-reload.dev/enabled'];
const named = annotations['config-reload.dev/configmaps'];
if (enabled !== undefined && enabled !== 'true' && enabled !== 'false') return { in: false, referenced: false, named: [] }; // malformed
const names = (named ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
return { in: enabled === 'true' || names.length > 0, referenced: enabled === 'true', named: names };
}

/** The two reference shapes the model test generates: envFrom configMapRef and env configMapKeyRef. */
function readRefs(object: unknown): Ref[] {
const containers = (object as { spec?: { template?: { spec?: { containers?: unknown[] } } } }).spec?.template?.spec?.containers ?? [];
const refs: Ref[] = [];
for (const c of containers as Array<{ envFrom?: Array<{ configMapRef?: { name: string; optional?: boolean } }>; env?: Array<{ valueFrom?: { configMapKeyRef?: { name: string; key: string; optional?: boolean } } }> }>) {
  for (const e of c.envFrom ?? []) if (e.configMapRef) refs.push({ name: e.configMapRef.name, key: null, optional: e.configMapRef.optional === true });
  for (const e of c.env ?? []) {
    const r = e.valueFrom?.configMapKeyRef;
    if (r) refs.push({ name: r.name, key: r.key, optional: r.optional === true });
  }
}
return refs;
}
