// One rollout when a pod-template change already carries the new configuration.
//
// When a pod-template change (any change, not only of ConfigMap references, and not the
// operator's own config-hash annotation) was written AFTER the consumed configuration changed,
// the rollout Kubernetes starts for it already reads the new configuration: the operator records
// the digest on the Deployment's metadata and does not roll a second time. When the template
// change came first (or the order cannot be established), the operator rolls. The order is that
// of the resourceVersions of the ConfigMap write and the Deployment write.
//
// Every test counts rollouts by ReplicaSets (and the `deployment.kubernetes.io/revision`
// annotation), never by metadata.generation, and checks both config-hash annotations against
// digests computed here, with the project's digest functions, from the data the test wrote.
import { PatchStrategy, setHeaderOptions, type V1Deployment, type V1ReplicaSet } from '@kubernetes/client-node';
import { expect } from 'chai';
import { namespaceWithOperator, type OperatorProcess } from './operator-process.ts';
import {
  clients, configMapContent, createConfigMap, createDeployment, deployment, ENABLED, HASH, readDeployment,
  replicaSetsOf, waitFor, waitForReplicaSets, workloadDigest,
} from './support.ts';

const IMAGE_1 = 'registry.example/app:1';
const IMAGE_2 = 'registry.example/app:2';
const REVISION = 'deployment.kubernetes.io/revision';

type Data = Record<string, string>;
/** What the test wrote, per ConfigMap: the only source of the digests the tests expect. */
type Written = Record<string, Data>;

interface Suite {
  ns: string;
  op: OperatorProcess;
}

/** A pod spec whose one container reads each ConfigMap whole, through envFrom. */
function envFromSpec(configMaps: string[], image = IMAGE_1): Record<string, unknown> {
  return { containers: [{ name: 'app', image, envFrom: envFrom(configMaps) }] };
}

function envFrom(configMaps: string[]): Array<{ configMapRef: { name: string } }> {
  return configMaps.map((name) => ({ configMapRef: { name } }));
}

/**
 * The digest a correct operator records for a Deployment that reads `consumed` whole (envFrom,
 * required), computed from the data the test wrote — never from what the operator wrote.
 */
function digestOf(written: Written, consumed: string[]): string {
  return workloadDigest(
    consumed.map((name) => ({ name, optional: false, keys: null })),
    (name) => {
      const data = written[name];
      return data === undefined ? undefined : configMapContent({ data });
    },
  );
}

/** A full rewrite of the ConfigMap's data in ONE request (an unconditional PUT); its resourceVersion. */
async function writeConfigMap(ns: string, name: string, data: Data): Promise<string> {
  const cm = await clients().core.replaceNamespacedConfigMap({ namespace: ns, name, body: { metadata: { name }, data } });
  return resourceVersion(cm.metadata?.resourceVersion);
}

/** A strategic merge patch of the one container (merged by name), as `kubectl set image` sends. */
async function patchContainer(ns: string, name: string, container: Record<string, unknown>): Promise<V1Deployment> {
  return clients().apps.patchNamespacedDeployment(
    { namespace: ns, name, body: { spec: { template: { spec: { containers: [{ name: 'app', ...container }] } } } } },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
}

function resourceVersion(rv: string | undefined): string {
  if (!rv) throw new Error('write returned no resourceVersion');
  return rv;
}

/** Precondition: the apiserver ordered write `a` before write `b` (etcd revisions are numeric). */
function expectOrdered(a: string, b: string, what: string): void {
  expect(BigInt(a) < BigInt(b), `precondition: ${what} (resourceVersions ${a}, ${b})`).to.equal(true);
}

const metadataHash = (d: V1Deployment) => d.metadata?.annotations?.[HASH];
const templateHash = (d: V1Deployment) => d.spec?.template?.metadata?.annotations?.[HASH];
const short = (digest: string | undefined) => (digest === undefined ? 'absent' : digest.slice(0, 12));

function revisionOf(rs: V1ReplicaSet): number {
  return Number(rs.metadata?.annotations?.[REVISION] ?? 0);
}

/** "rev:image[+hash]" per ReplicaSet, oldest first: what a failed count prints. */
function describeReplicaSets(sets: V1ReplicaSet[]): string[] {
  return [...sets].sort((a, b) => revisionOf(a) - revisionOf(b)).map((rs) => {
    const hash = rs.spec?.template?.metadata?.annotations?.[HASH];
    return `rev ${revisionOf(rs)}: ${rs.spec?.template?.spec?.containers[0]?.image ?? '?'}${hash ? ` +config-hash ${short(hash)}` : ''}`;
  });
}

function newest(sets: V1ReplicaSet[]): V1ReplicaSet {
  const last = [...sets].sort((a, b) => revisionOf(a) - revisionOf(b)).at(-1);
  if (!last) throw new Error('no ReplicaSet');
  return last;
}

/** The state a failure message needs: ReplicaSets, both hashes, and what the operator logged. */
async function explain(s: Suite, name: string): Promise<string> {
  const d = await readDeployment(s.ns, name);
  const sets = describeReplicaSets(await replicaSetsOf(s.ns, name));
  const said = s.op.decisions(`Deployment/${s.ns}/${name}`).map((l) => `${l.message} (${String(l.reason)})`);
  return `${name}: ReplicaSets [${sets.join('; ')}], metadata config-hash ${short(metadataHash(d))}, `
    + `template config-hash ${short(templateHash(d))}; operator log: ${said.join(' | ') || 'nothing'}`;
}

async function waitOrExplain<T>(s: Suite, name: string, what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  try {
    return await waitFor(what, probe, timeoutMs);
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n      ${await explain(s, name)}`);
  }
}

/**
 * Waits until the operator has accounted for `digest` on the Deployment's metadata (adoption,
 * re-record or roll alike): the visible sign that it reconciled the event under test.
 */
async function waitForRecorded(s: Suite, name: string, digest: string, timeoutMs = 30_000): Promise<V1Deployment> {
  return waitOrExplain(s, name, `metadata config-hash ${short(digest)} on ${name}`, async () => {
    const d = await readDeployment(s.ns, name);
    return metadataHash(d) === digest ? d : undefined;
  }, timeoutMs);
}

/**
 * Waits for a roll to `digest`: recorded on metadata, written into the pod template, and the
 * rollout it started complete with `replicaSets` ReplicaSets in all.
 */
async function expectRolled(s: Suite, name: string, replicaSets: number, digest: string): Promise<V1Deployment> {
  await waitForRecorded(s, name, digest);
  // A roll writes both annotations in one patch: once metadata shows the digest, a template that
  // does not show it (within a generous bound) was not rolled.
  await waitOrExplain(s, name, `${name} rolled to ${short(digest)} (template config-hash, ${replicaSets} ReplicaSets)`, async () => {
    const d = await readDeployment(s.ns, name);
    return templateHash(d) === digest && (await replicaSetsOf(s.ns, name)).length === replicaSets ? true : undefined;
  }, 20_000);
  const d = await waitForReplicaSets(s.ns, name, replicaSets);
  expect(metadataHash(d), 'metadata config-hash').to.equal(digest);
  expect(templateHash(d), 'template config-hash').to.equal(digest);
  return d;
}

/**
 * The ReplicaSets of a Deployment once the Deployment controller has observed its latest spec:
 * a template change (ours or the operator's) has its ReplicaSet by then, so the count is final
 * for everything written so far.
 */
async function settledReplicaSets(s: Suite, name: string): Promise<V1ReplicaSet[]> {
  await waitOrExplain(s, name, `the Deployment controller to observe ${name}'s latest generation`, async () => {
    const d = await readDeployment(s.ns, name);
    return (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) ? true : undefined;
  }, 30_000);
  return replicaSetsOf(s.ns, name);
}

// Proving that a second roll did NOT happen, without sleeping: a sentinel.
//
// The sentinel is a Deployment of the same namespace (so watched by the same operator) that reads
// a ConfigMap of its own. `settle()` is called only once the operator has visibly reconciled the
// event under test: the workload's metadata config-hash, which only the operator writes, shows
// the expected digest. It then rewrites the sentinel's ConfigMap and waits until the sentinel has
// rolled (its new digest recorded, one more ReplicaSet, its rollout complete). Why that means the
// operator is done with the workload under test:
//  - Everything that could make the operator act on the workload — the test's ConfigMap and
//    template writes, and the operator's own patch of it — was written before the sentinel's
//    ConfigMap (a smaller resourceVersion). The only later writes to the workload are the
//    Deployment controller's status updates, which change neither its template nor what it reads.
//  - A key becomes due one debounce window (1 s by default, measured from the key's first add)
//    after the event that queued it, and workers take keys in the order they become due; watch
//    delivery on loopback takes milliseconds. So any reconcile of the workload caused by those
//    earlier writes was due before the sentinel's, which is due 1 s after the sentinel's event.
//  - The sentinel's roll is seen only when its rollout is complete (a new pod scheduled and
//    Running through kwok, the old one gone): far longer than the one PATCH of a reconcile of
//    the workload that started no later than the sentinel's.
//  - Then `settledReplicaSets` waits for the Deployment controller to have observed the
//    workload's latest generation, so a template change written by the operator has created its
//    ReplicaSet before the test counts them.
class Sentinel {
  readonly name: string;
  readonly #s: Suite;
  readonly #configMap: string;
  #round = 0;

  constructor(s: Suite, of: string) {
    this.#s = s;
    this.name = `${of}-sentinel`;
    this.#configMap = `${this.name}-cm`;
  }

  #digest(): string {
    return digestOf({ [this.#configMap]: { round: String(this.#round) } }, [this.#configMap]);
  }

  async create(): Promise<void> {
    await createConfigMap(this.#s.ns, this.#configMap, { round: '0' });
    await createDeployment(this.#s.ns, deployment(this.name, { annotations: ENABLED, podSpec: envFromSpec([this.#configMap]) }));
  }

  async adopted(): Promise<void> {
    await waitForRecorded(this.#s, this.name, this.#digest());
    await waitForReplicaSets(this.#s.ns, this.name, 1);
  }

  /** Call only after the operator visibly reconciled the event under test (see above). */
  async settle(): Promise<void> {
    this.#round++;
    await writeConfigMap(this.#s.ns, this.#configMap, { round: String(this.#round) });
    await expectRolled(this.#s, this.name, this.#round + 1, this.#digest());
  }
}

describe('operator: one rollout when a template change already carries the new configuration', function () {
  const s = namespaceWithOperator('template-rollouts');

  /**
   * The missed-roll report's set-up: a 3-replica Deployment reading ConfigMap `one` is adopted;
   * its pod template is edited to also read ConfigMap `two` (which exists). Kubernetes rolls it
   * once; the operator re-records the digest without a second roll.
   */
  async function adoptThenAddReference(name: string): Promise<{ written: Written; sentinel: Sentinel; one: string; two: string }> {
    const one = `${name}-one`;
    const two = `${name}-two`;
    const written: Written = { [one]: { a: '1' }, [two]: { b: '1' } };
    const sentinel = new Sentinel(s, name);
    await createConfigMap(s.ns, one, written[one] as Data);
    await createConfigMap(s.ns, two, written[two] as Data);
    await createDeployment(s.ns, deployment(name, { replicas: 3, annotations: ENABLED, podSpec: envFromSpec([one]) }));
    await sentinel.create();

    // Adopted: the digest of `one` on metadata, nothing in the template, one ReplicaSet.
    await waitForRecorded(s, name, digestOf(written, [one]));
    const adopted = await waitForReplicaSets(s.ns, name, 1);
    expect(templateHash(adopted), 'adoption writes no template config-hash').to.equal(undefined);
    await sentinel.adopted();

    // The template edit: also read `two`. Kubernetes rolls it (a second ReplicaSet) ...
    const edited = await patchContainer(s.ns, name, { envFrom: envFrom([one, two]) });
    expect(templateHash(edited), 'the edit carries no template config-hash').to.equal(undefined);
    await waitForReplicaSets(s.ns, name, 2);
    // ... and the operator records the digest of what the new pods read, without a roll of its own.
    await waitForRecorded(s, name, digestOf(written, [one, two]));
    await sentinel.settle();
    const sets = await settledReplicaSets(s, name);
    expect(describeReplicaSets(sets), `no second roll after the template edit; ${await explain(s, name)}`).to.have.length(2);
    const d = await readDeployment(s.ns, name);
    expect(templateHash(d), 'the operator wrote no template config-hash for the edit').to.equal(undefined);
    expect(d.metadata?.annotations?.[REVISION]).to.equal('2');
    return { written, sentinel, one, two };
  }

  it('top: a template edit that adds a ConfigMap reference rolls once; the next change of that ConfigMap rolls once more', async () => {
    const name = 'missed';
    const { written, sentinel, one, two } = await adoptThenAddReference(name);

    // `two` changes: exactly one more rollout, to the digest of the current configuration.
    written[two] = { b: '2' };
    await writeConfigMap(s.ns, two, written[two]);
    const expected = digestOf(written, [one, two]);
    const rolled = await expectRolled(s, name, 3, expected);
    expect(rolled.metadata?.annotations?.[REVISION]).to.equal('3');
    await sentinel.settle();
    const sets = await settledReplicaSets(s, name);
    expect(describeReplicaSets(sets), `exactly one rollout for the change of ${two}; ${await explain(s, name)}`).to.have.length(3);
    expect(newest(sets).spec?.template?.metadata?.annotations?.[HASH], 'the newest ReplicaSet carries the current digest').to.equal(expected);
  });

  it('(c) after that template edit, three successive ConfigMap changes roll three times', async () => {
    const name = 'successive';
    const { written, sentinel, one, two } = await adoptThenAddReference(name);

    const changes: Array<[string, Data]> = [[two, { b: '2' }], [one, { a: '2' }], [two, { b: '3' }]];
    for (const [i, [cm, data]] of changes.entries()) {
      written[cm] = data;
      await writeConfigMap(s.ns, cm, data);
      // Each waits for the previous rollout to complete (expectRolled does).
      try {
        await expectRolled(s, name, 3 + i, digestOf(written, [one, two]));
      } catch (err) {
        throw new Error(`change ${i + 1} of 3 (${cm}): ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    await sentinel.settle();
    const sets = await settledReplicaSets(s, name);
    expect(describeReplicaSets(sets), `one rollout per change; ${await explain(s, name)}`).to.have.length(5);
    expect((await readDeployment(s.ns, name)).metadata?.annotations?.[REVISION]).to.equal('5');
  });

  it('(a) a ConfigMap write, then an image change within 200 ms: one rollout (the image\'s), the new digest on metadata; the next ConfigMap change rolls once more', async () => {
    const name = 'cm-then-image';
    const cm = `${name}-cm`;
    const written: Written = { [cm]: { k: '1' } };
    const sentinel = new Sentinel(s, name);
    await createConfigMap(s.ns, cm, written[cm] as Data);
    await createDeployment(s.ns, deployment(name, { replicas: 2, annotations: ENABLED, podSpec: envFromSpec([cm]) }));
    await sentinel.create();
    await waitForRecorded(s, name, digestOf(written, [cm]));
    const adopted = await waitForReplicaSets(s.ns, name, 1);
    await sentinel.adopted();

    // The event under test: the ConfigMap write, then the image change.
    const t0 = performance.now();
    written[cm] = { k: '2' };
    const cmVersion = await writeConfigMap(s.ns, cm, written[cm]);
    const imaged = await patchContainer(s.ns, name, { image: IMAGE_2 });
    const elapsed = performance.now() - t0;
    expect(elapsed, 'precondition: both writes within 200 ms').to.be.below(200);
    expectOrdered(cmVersion, resourceVersion(imaged.metadata?.resourceVersion), 'the ConfigMap was written before the template');

    const expected = digestOf(written, [cm]);
    await waitForRecorded(s, name, expected);
    await sentinel.settle();
    const sets = await settledReplicaSets(s, name);
    expect(describeReplicaSets(sets), `exactly one new ReplicaSet, the image rollout; ${await explain(s, name)}`).to.have.length(2);
    expect(newest(sets).spec?.template?.spec?.containers[0]?.image).to.equal(IMAGE_2);
    const d = await readDeployment(s.ns, name);
    expect(metadataHash(d), 'metadata config-hash = the new digest').to.equal(expected);
    expect(templateHash(d), 'template config-hash absent or unchanged since adoption').to.equal(templateHash(adopted));
    expect(d.metadata?.annotations?.[REVISION]).to.equal('2');

    // The next ConfigMap change alone rolls once more.
    written[cm] = { k: '3' };
    await writeConfigMap(s.ns, cm, written[cm]);
    const next = digestOf(written, [cm]);
    await expectRolled(s, name, 3, next);
    await sentinel.settle();
    const after = await settledReplicaSets(s, name);
    expect(describeReplicaSets(after), `one rollout for the next change; ${await explain(s, name)}`).to.have.length(3);
    expect(newest(after).spec?.template?.metadata?.annotations?.[HASH]).to.equal(next);
  });

  it('(b) an image change, then a ConfigMap change once the image rollout started: two rollouts', async () => {
    const name = 'image-then-cm';
    const cm = `${name}-cm`;
    const written: Written = { [cm]: { k: '1' } };
    const sentinel = new Sentinel(s, name);
    await createConfigMap(s.ns, cm, written[cm] as Data);
    await createDeployment(s.ns, deployment(name, { replicas: 2, annotations: ENABLED, podSpec: envFromSpec([cm]) }));
    await sentinel.create();
    await waitForRecorded(s, name, digestOf(written, [cm]));
    await waitForReplicaSets(s.ns, name, 1);
    await sentinel.adopted();

    const imaged = await patchContainer(s.ns, name, { image: IMAGE_2 });
    // A real ordering instead of a delay: the Deployment controller has observed the image
    // change and started its rollout (its ReplicaSet exists) before the ConfigMap is written.
    const started = await settledReplicaSets(s, name);
    expect(describeReplicaSets(started), 'the image rollout started').to.have.length(2);
    written[cm] = { k: '2' };
    const cmVersion = await writeConfigMap(s.ns, cm, written[cm]);
    expectOrdered(resourceVersion(imaged.metadata?.resourceVersion), cmVersion, 'the template was written before the ConfigMap');

    const expected = digestOf(written, [cm]);
    await expectRolled(s, name, 3, expected);
    await sentinel.settle();
    const sets = await settledReplicaSets(s, name);
    expect(describeReplicaSets(sets), `two rollouts: the image's, then the configuration's; ${await explain(s, name)}`).to.have.length(3);
    const last = newest(sets);
    expect(last.spec?.template?.spec?.containers[0]?.image, 'the configuration rollout keeps the new image').to.equal(IMAGE_2);
    expect(last.spec?.template?.metadata?.annotations?.[HASH]).to.equal(expected);
    expect((await readDeployment(s.ns, name)).metadata?.annotations?.[REVISION]).to.equal('3');
  });

  it('(d) a burst of three ConfigMaps of one Deployment, then an image change: one rollout', async () => {
    const name = 'burst-image';
    const cms = [`${name}-1`, `${name}-2`, `${name}-3`];
    const written: Written = Object.fromEntries(cms.map((c) => [c, { v: '1' }]));
    const sentinel = new Sentinel(s, name);
    for (const c of cms) await createConfigMap(s.ns, c, written[c] as Data);
    await createDeployment(s.ns, deployment(name, { replicas: 2, annotations: ENABLED, podSpec: envFromSpec(cms) }));
    await sentinel.create();
    await waitForRecorded(s, name, digestOf(written, cms));
    const adopted = await waitForReplicaSets(s.ns, name, 1);
    await sentinel.adopted();

    const t0 = performance.now();
    for (const c of cms) written[c] = { v: '2' };
    const cmVersions = await Promise.all(cms.map((c) => writeConfigMap(s.ns, c, written[c] as Data)));
    const imaged = await patchContainer(s.ns, name, { image: IMAGE_2 });
    const elapsed = performance.now() - t0;
    expect(elapsed, 'precondition: the burst and the image change within 200 ms').to.be.below(200);
    const lastConfigMap = cmVersions.reduce((a, b) => (BigInt(a) > BigInt(b) ? a : b));
    expectOrdered(lastConfigMap, resourceVersion(imaged.metadata?.resourceVersion), 'every ConfigMap was written before the template');

    const expected = digestOf(written, cms);
    await waitForRecorded(s, name, expected);
    await sentinel.settle();
    const sets = await settledReplicaSets(s, name);
    expect(describeReplicaSets(sets), `one rollout for the burst and the image change; ${await explain(s, name)}`).to.have.length(2);
    expect(newest(sets).spec?.template?.spec?.containers[0]?.image).to.equal(IMAGE_2);
    const d = await readDeployment(s.ns, name);
    expect(metadataHash(d), 'metadata config-hash = the digest of all three new ConfigMaps').to.equal(expected);
    expect(templateHash(d), 'template config-hash absent or unchanged since adoption').to.equal(templateHash(adopted));
    expect(d.metadata?.annotations?.[REVISION]).to.equal('2');
  });
});
