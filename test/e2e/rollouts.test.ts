// Argo Rollouts (rollouts.argoproj.io) as a workload kind, on the testbed with Argo's own
// Rollout CRD (test/e2e/fixtures/argo-rollouts/, v1.10.2; docs/workload-kinds.md):
// - the CRD is absent when the operator starts: the kind is turned off (its log line, the
//   metric at 0); installed, it is picked up by the next discovery check (within a minute) and
//   its Rollouts are adopted, not rolled;
// - key precision: a key a Rollout does not read rolls nothing;
// - waves across Deployments and Rollouts sharing a ConfigMap (--wave-threshold 2): the
//   annotated Rollout canary rolls first, the Deployments wait for its `status.phase` Healthy;
// - a Rollout with `spec.workloadRef` is never written: the Deployment it refers to (scaled to
//   0, as Argo's docs show it) carries the annotation and rolls once.
//
// How a roll is counted for a kind whose controller does not run here (no Argo controller on
// the testbed): a roll is a change of the config-hash annotation in the Rollout's pod template
// — the write the Rollout controller turns into one new ReplicaSet — seen by a watch on the
// Rollouts from their creation on, every event in order (not metadata.generation, which any
// spec edit moves). The Rollout's status is written by this test, as the Rollout controller
// would (observedGeneration, phase), through the status subresource. Deployments' rolls are
// counted by ReplicaSets, as everywhere. "Nothing happened" is proven with sentinelRoll.
//
// Serial group (the default): it installs and deletes a cluster-scoped CRD.
import { CustomObjectsApi, type KubeConfig, Watch } from '@kubernetes/client-node';
import { expect } from 'chai';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OperatorProcess } from './operator-process.ts';
import {
  clients, configMapContent, createConfigMap, createDeployment, createNamespace, deleteNamespace, deployment, ENABLED, HASH,
  httpGet, kubectl, metricValue, replicaSetsOf, rewriteConfigMap, sentinelRoll, waitFor, waitForReplicaSets, workloadDigest,
} from './support.ts';

const CRD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'argo-rollouts', 'rollout-crd.yaml');
const CRD_NAME = 'rollouts.argoproj.io';
const CANARY = { 'config-reload.dev/canary': 'true' };

interface Rollout {
  metadata: { name: string; namespace?: string; generation?: number; annotations?: Record<string, string>; managedFields?: Array<{ manager?: string }> };
  spec: { template?: { metadata?: { annotations?: Record<string, string> } }; workloadRef?: unknown };
}

/**
 * The template hashes each Rollout's pod template carried, in the order a watch showed them
 * (consecutive repeats dropped). A watch the apiserver ends (its timeout) is resumed from the last
 * resourceVersion it delivered, so no write is missed.
 */
class TemplateWatch {
  readonly hashes = new Map<string, Array<string | undefined>>();
  #abort: AbortController | undefined;
  #stopped = false;
  #resourceVersion: string | undefined;

  start(kc: KubeConfig, ns: string): void {
    if (this.#stopped) return;
    // Resumed at once (the CRD is established before the watch starts); after an error (a 410
    // for a version compacted away) from the current state, whose repeat of a hash is dropped.
    const restart = (err?: unknown) => {
      if (err) this.#resourceVersion = undefined;
      setImmediate(() => this.start(kc, ns));
    };
    const query = this.#resourceVersion ? { resourceVersion: this.#resourceVersion } : {};
    void new Watch(kc).watch(`/apis/argoproj.io/v1alpha1/namespaces/${ns}/rollouts`, query, (type, obj: Rollout & { metadata: { resourceVersion?: string } }) => {
      if (type !== 'ADDED' && type !== 'MODIFIED') return;
      this.#resourceVersion = obj.metadata.resourceVersion;
      const seen = this.hashes.get(obj.metadata.name) ?? [];
      const hash = obj.spec.template?.metadata?.annotations?.[HASH];
      if (seen.length === 0 || seen.at(-1) !== hash) seen.push(hash);
      this.hashes.set(obj.metadata.name, seen);
    }, (err) => restart(err)).then((abort) => (this.#abort = abort), (err: unknown) => restart(err ?? new Error('watch refused')));
  }

  /** Rolls: changes of the template hash since the Rollout was first seen (with none: asserted by the test). */
  rolls(name: string): number {
    return Math.max(0, (this.hashes.get(name)?.length ?? 0) - 1);
  }

  first(name: string): string | undefined {
    return this.hashes.get(name)?.[0];
  }

  last(name: string): string | undefined {
    return this.hashes.get(name)?.at(-1);
  }

  stop(): void {
    this.#stopped = true;
    this.#abort?.abort();
  }
}

function rollout(name: string, podSpec: Record<string, unknown>, annotations: Record<string, string> = {}) {
  return {
    apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout',
    metadata: { name, annotations: { ...ENABLED, ...annotations } },
    spec: {
      replicas: 1, selector: { matchLabels: { app: name } },
      strategy: { canary: { steps: [{ setWeight: 50 }, { pause: { duration: '10s' } }] } },
      template: { metadata: { labels: { app: name } }, spec: podSpec },
    },
  };
}

const reads = (env: Record<string, unknown>) => ({ containers: [{ name: 'app', image: 'registry.example/app:1', ...env }] });
const whole = reads({ envFrom: [{ configMapRef: { name: 'shared' } }] });
const onlyX = reads({ env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'shared', key: 'x' } } }] });

const custom = () => clients().kc.makeApiClient(CustomObjectsApi);

async function createRollout(ns: string, body: object): Promise<void> {
  await custom().createNamespacedCustomObject({ group: 'argoproj.io', version: 'v1alpha1', namespace: ns, plural: 'rollouts', body });
}

async function readRollout(ns: string, name: string): Promise<Rollout> {
  return await custom().getNamespacedCustomObject({ group: 'argoproj.io', version: 'v1alpha1', namespace: ns, plural: 'rollouts', name }) as Rollout;
}

/** What the Rollout controller writes once the current spec rolled out: observed, Healthy. */
function writeHealthy(ns: string, name: string, generation: number): void {
  const status = { observedGeneration: String(generation), phase: 'Healthy', replicas: 1, updatedReplicas: 1, availableReplicas: 1, readyReplicas: 1 };
  kubectl('patch', 'rollouts.argoproj.io', name, '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status }));
}

function crdInstalled(): boolean {
  return kubectl('get', 'crd', '-o', 'name').split('\n').includes(`customresourcedefinition.apiextensions.k8s.io/${CRD_NAME}`);
}

describe('Argo Rollouts: a custom workload kind (rollouts.argoproj.io)', function () {
  let ns: string;
  let op: OperatorProcess;
  const templates = new TemplateWatch();

  before(async function () {
    this.timeout(240_000);
    if (crdInstalled()) kubectl('delete', 'crd', CRD_NAME, '--wait=true');
    ns = await createNamespace('rollouts');
    op = await OperatorProcess.start({
      args: ['--namespace', ns, '--workload-kinds', 'deployments,rollouts.argoproj.io', '--wave-threshold', '2', '--debounce', '200ms'],
    });
  });

  after(async () => {
    templates.stop();
    await op?.stop();
    if (ns) await deleteNamespace(ns);
    if (crdInstalled()) kubectl('delete', 'crd', CRD_NAME, '--wait=false');
  });

  it('turns the kind off while its CRD is absent (one line, the metric at 0), then adopts the Rollouts once it is installed, rolling none', async function () {
    this.timeout(240_000);
    const off = op.logs.filter((l) => String(l.message).startsWith(`workload kind ${CRD_NAME} is turned off`));
    expect(off, 'said once').to.have.length(1);
    expect(off[0]!.message).to.include('its CRD is not installed');
    const port = await op.httpPort();
    const available = async () => metricValue((await httpGet(port, '/metrics')).body, 'config_reload_workload_kind_available', { kind: CRD_NAME });
    expect(await available()).to.equal(0);
    expect(await metricValue((await httpGet(port, '/metrics')).body, 'config_reload_workload_kind_available', { kind: 'deployments' })).to.equal(1);

    // The CRD is large: created server-side (a client-side apply's last-applied annotation would not fit).
    kubectl('create', '-f', CRD);
    await waitFor('the CRD established', async () => (kubectl('get', 'crd', CRD_NAME, '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}') === 'True' ? true : undefined));
    await createConfigMap(ns, 'shared', { x: '1', y: '1' });
    templates.start(clients().kc, ns);
    await createRollout(ns, rollout('whole', whole, CANARY));
    await createRollout(ns, rollout('only-x', onlyX));
    await createDeployment(ns, deployment('dep', { annotations: ENABLED, podSpec: whole }));
    // The Deployment a workloadRef Rollout takes its template from: scaled to 0 (Argo's docs).
    await createDeployment(ns, deployment('ref-dep', { replicas: 0, annotations: ENABLED, podSpec: onlyX }));
    await createRollout(ns, {
      apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'ref', annotations: ENABLED },
      spec: { replicas: 1, workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'ref-dep', scaleDown: 'onsuccess' }, strategy: { canary: {} } },
    });

    // The watch saw each Rollout before any write of the operator's (it picks the kind up at its next check).
    await waitFor('the watch saw the Rollouts', async () => (['whole', 'only-x', 'ref'].every((n) => templates.hashes.has(n)) ? true : undefined));
    expect(op.logs.some((l) => String(l.workload).startsWith('Rollout/')), 'no Rollout decided yet').to.equal(false);
    await op.waitForLog(`${CRD_NAME} picked up`, (l) => l.message === `workload kind ${CRD_NAME} is installed now: watching it`, 120_000);
    expect(await available()).to.equal(1);
    for (const name of ['whole', 'only-x']) {
      await waitFor(`${name} adopted`, async () => (await readRollout(ns, name)).metadata.annotations?.[HASH]);
    }
    await sentinelRoll(ns);
    expect([templates.rolls('whole'), templates.rolls('only-x')], 'adoption writes no template').to.deep.equal([0, 0]);
    expect(templates.first('whole')).to.equal(undefined);
    expect(templates.last('whole')).to.equal(undefined);
    for (const name of ['whole', 'only-x']) writeHealthy(ns, name, (await readRollout(ns, name)).metadata.generation ?? 1);
  });

  it('a key only one Rollout reads rolls that one; the Deployment sharing the ConfigMap waits for the Rollout canary\'s phase Healthy', async function () {
    this.timeout(240_000);
    await rewriteConfigMap(ns, 'shared', { x: '1', y: '2' });
    const expected = workloadDigest([{ name: 'shared', optional: false, keys: null }], () => configMapContent({ data: { x: '1', y: '2' } }));
    await waitFor('the canary Rollout rolled', async () => (templates.last('whole') === expected ? true : undefined));
    // Processed past the change: the Deployment waits behind the canary, only-x reads no y.
    await sentinelRoll(ns);
    expect((await replicaSetsOf(ns, 'dep')).length, 'the Deployment waits for the canary').to.equal(1);
    expect(op.logs.some((l) => l.workload === `Deployment/${ns}/dep` && l.message === 'rolled')).to.equal(false);

    // The Rollout controller observed the new template and finished its steps.
    writeHealthy(ns, 'whole', (await readRollout(ns, 'whole')).metadata.generation ?? 1);
    await waitForReplicaSets(ns, 'dep', 2);
    await sentinelRoll(ns);
    expect([templates.rolls('whole'), templates.rolls('only-x')]).to.deep.equal([1, 0]);
    expect((await replicaSetsOf(ns, 'dep')).length).to.equal(2);
  });

  it('a key every consumer reads rolls each once: the Rollouts at their template, the workloadRef Rollout through its Deployment only', async function () {
    this.timeout(240_000);
    await rewriteConfigMap(ns, 'shared', { x: '2', y: '2' });
    await waitFor('the canary Rollout rolled again', async () => (templates.rolls('whole') === 2 ? true : undefined));
    writeHealthy(ns, 'whole', (await readRollout(ns, 'whole')).metadata.generation ?? 1);
    await waitForReplicaSets(ns, 'dep', 3);
    await waitForReplicaSets(ns, 'ref-dep', 2);
    await waitFor('only-x rolled', async () => (templates.rolls('only-x') === 1 ? true : undefined));
    await sentinelRoll(ns);
    expect([templates.rolls('whole'), templates.rolls('only-x')], 'once each').to.deep.equal([2, 1]);
    expect((await replicaSetsOf(ns, 'dep')).length).to.equal(3);
    expect((await replicaSetsOf(ns, 'ref-dep')).length).to.equal(2);
    const expected = workloadDigest([{ name: 'shared', optional: false, keys: ['x'] }], () => configMapContent({ data: { x: '2', y: '2' } }));
    expect(templates.last('only-x')).to.equal(expected);

    // The workloadRef Rollout: no template written into it (the Rollout controller would refuse
    // it), no field of the operator's at all.
    const ref = await readRollout(ns, 'ref');
    expect(ref.spec.template).to.equal(undefined);
    expect((ref.metadata.managedFields ?? []).map((f) => f.manager)).to.not.include('config-reload-operator');
    expect(templates.rolls('ref')).to.equal(0);
  });
});
