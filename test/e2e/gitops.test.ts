// GitOps: after the operator rolled a workload, the workload's manifest from Git is applied again
// the ways Argo CD, Flux and Helm apply it, and nothing fights the operator:
//  - `kubectl apply` (client-side: a three-way merge against the last-applied annotation; what
//    Argo CD's default sync does),
//  - `kubectl apply --server-side --field-manager=kustomize-controller --force-conflicts` (what
//    Flux's kustomize-controller does; Argo CD's ServerSideApply=true is the same with its own
//    manager name),
//  - `helm upgrade` of a chart holding it, client-side (Helm 3's three-way merge; Helm 4 with
//    --server-side=false) and server-side (Helm 4's default).
// For each: the operator's annotations stay, no second ReplicaSet or ControllerRevision, the
// same pods keep running, and nothing writes the workloads afterwards (a sentinel roll proves
// the operator processed the re-apply; the workloads' resourceVersions did not move from the
// re-apply to the end of the sentinel). `kubectl diff`, client- and server-side, reports no
// drift on a workload the operator rolled: that is what Argo CD's legacy diff (three-way, with
// last-applied) and its Server-Side Diff compute. A `kubectl replace` (Argo CD's Replace=true,
// `helm upgrade --force-replace`) does remove the annotations, a Git change to the pod template
// rolls (once, by Git), and Git that carries the operator's annotation is reverted by a self-heal:
// what happens then is pinned too. docs/gitops.md cites these tests by their letter.
import type { V1ControllerRevision, V1Deployment, V1ManagedFieldsEntry, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { RECORD_ANNOTATION } from '../../src/core/record.ts';
import { FIELD_MANAGER } from '../../src/reconcile/reconciler.ts';
import { scratchDir } from '../scratch-dir.ts';
import { chartTools, helmEnv, run } from '../support/chart.ts';
import { testbed } from './hooks.ts';
import { namespaceWithOperator } from './operator-process.ts';
import {
  clients, configMapContent, deployment, ENABLED, HASH, kubectl, podSpecWithVolume, replicaSetsOf, sentinelRoll, waitFor,
  workloadDigest,
} from './support.ts';

type Kind = 'Deployment' | 'StatefulSet';
type Workload = V1Deployment | V1StatefulSet;
type Obj = Record<string, unknown> & { kind: string; metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> } };

/**
 * What Git holds: one ConfigMap per workload with `config` in it; `revision` labels the workloads
 * (outside the pod template); `image` is the containers'. The pod templates carry an annotation
 * of Git's own, so that the operator's share a map with it.
 */
function manifest(prefix: string, config: string, opts: { revision?: string; image?: string } = {}): Obj[] {
  const labels = opts.revision ? { 'example.com/git-revision': opts.revision } : undefined;
  const podSpec = (cm: string) => {
    const spec = podSpecWithVolume(cm) as { containers: Array<{ image: string }> };
    if (opts.image) spec.containers[0]!.image = opts.image;
    return spec;
  };
  const web = deployment(`${prefix}-web`, { annotations: ENABLED, podSpec: podSpec(`${prefix}-web-cfg`) }) as unknown as Obj;
  const db: Obj = {
    apiVersion: 'apps/v1', kind: 'StatefulSet',
    metadata: { name: `${prefix}-db`, annotations: ENABLED },
    spec: {
      replicas: 1, serviceName: `${prefix}-db`, podManagementPolicy: 'Parallel',
      selector: { matchLabels: { app: `${prefix}-db` } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      template: { metadata: { labels: { app: `${prefix}-db` } }, spec: podSpec(`${prefix}-db-cfg`) },
    },
  };
  for (const w of [web, db]) {
    if (labels) w.metadata.labels = labels;
    (w.spec as { template: { metadata: Record<string, unknown> } }).template.metadata.annotations = { 'example.com/team': 'payments' };
  }
  const cm = (name: string): Obj => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { setting: config } });
  return [cm(`${prefix}-web-cfg`), cm(`${prefix}-db-cfg`), web, db];
}

/** Indented JSON documents (YAML to kubectl, and text without `{{` to helm's template engine). */
function writeManifest(file: string, objects: Obj[]): string {
  writeFileSync(file, objects.map((o) => JSON.stringify(o, null, 2)).join('\n---\n'));
  return file;
}

/**
 * `kubectl diff`: its exit code (0 no difference, 1 differences) and output. Client-side without
 * `manager`; with it, a server-side dry-run apply under that field manager, forced (as Argo CD's
 * Server-Side Diff and Flux's drift detection run theirs).
 */
function kubectlDiff(ns: string, file: string, manager?: string): { code: number; out: string } {
  try {
    return { code: 0, out: kubectl('diff', '-n', ns, '-f', file, ...(manager ? ['--server-side', `--field-manager=${manager}`, '--force-conflicts'] : [])) };
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    if (e.status !== 1) throw new Error(`kubectl diff failed (exit ${e.status}): ${e.stderr ?? ''}`);
    return { code: 1, out: e.stdout ?? '' };
  }
}

async function read(ns: string, kind: Kind, name: string): Promise<Workload> {
  const { apps } = clients();
  return kind === 'Deployment' ? apps.readNamespacedDeployment({ namespace: ns, name }) : apps.readNamespacedStatefulSet({ namespace: ns, name });
}

/** ReplicaSets of a Deployment, ControllerRevisions of a StatefulSet: one per pod template it ran. */
async function revisions(ns: string, kind: Kind, name: string): Promise<number> {
  if (kind === 'Deployment') return (await replicaSetsOf(ns, name)).length;
  const w = await read(ns, kind, name);
  const list = await clients().apps.listNamespacedControllerRevision({ namespace: ns });
  return list.items.filter((r: V1ControllerRevision) => r.metadata?.ownerReferences?.some((o) => o.uid === w.metadata?.uid && o.controller)).length;
}

async function livePods(ns: string, app: string): Promise<V1Pod[]> {
  return (await clients().core.listNamespacedPod({ namespace: ns, labelSelector: `app=${app}` })).items.filter((p) => !p.metadata?.deletionTimestamp);
}

/**
 * Waits until the workload has `count` revisions, its rollout is complete, and its one pod runs
 * the template carrying `digest`; returns the workload and the pod's uid.
 */
async function settled(ns: string, kind: Kind, name: string, count: number, digest: string | undefined): Promise<{ w: Workload; pod: string }> {
  return waitFor(`${kind} ${name}: ${count} revision(s), rolled out, its pod on config-hash ${String(digest).slice(0, 12)}`, async () => {
    const w = await read(ns, kind, name);
    if (await revisions(ns, kind, name) !== count) return undefined;
    const s = w.status as Record<string, unknown> | undefined;
    if (!s || Number(s.observedGeneration ?? 0) < (w.metadata?.generation ?? 0)) return undefined;
    if (Number(s.updatedReplicas ?? 0) !== 1 || Number(s.replicas ?? 0) !== 1 || Number(s.readyReplicas ?? 0) !== 1) return undefined;
    if (Number(s.availableReplicas ?? 0) !== 1) return undefined;
    if (kind === 'StatefulSet' && s.currentRevision !== s.updateRevision) return undefined;
    // The Deployment controller's last status write of a rollout: after it, the status stays.
    const conditions = (s.conditions ?? []) as Array<{ type: string; reason?: string }>;
    if (kind === 'Deployment' && conditions.find((c) => c.type === 'Progressing')?.reason !== 'NewReplicaSetAvailable') return undefined;
    const pods = await livePods(ns, name);
    const ready = pods.length === 1 && pods[0]?.status?.phase === 'Running' && pods[0].metadata?.annotations?.[HASH] === digest;
    return ready ? { w, pod: pods[0]!.metadata!.uid! } : undefined;
  }, 120_000);
}

/** What any write but a status write changes: labels, annotations, spec, and who wrote them when. */
function writtenPart(w: Workload): unknown {
  const managers = (w.metadata?.managedFields ?? []).filter((m: V1ManagedFieldsEntry) => m.subresource !== 'status')
    .map((m) => ({ manager: m.manager, operation: m.operation, time: String(m.time) }));
  return { labels: w.metadata?.labels, annotations: w.metadata?.annotations, spec: w.spec, managers };
}

/** The manager and operation owning an annotation (metadata's or the pod template's), from managedFields. */
function ownersOf(w: Workload, annotation: string, where: 'metadata' | 'template'): string[] {
  const key = `f:${annotation}`;
  return (w.metadata?.managedFields ?? []).filter((m: V1ManagedFieldsEntry) => {
    const f = m.fieldsV1 as Record<string, Record<string, Record<string, Record<string, Record<string, unknown>>>>> | undefined;
    const annotations = where === 'metadata' ? f?.['f:metadata']?.['f:annotations'] : f?.['f:spec']?.['f:template']?.['f:metadata']?.['f:annotations'];
    return annotations !== undefined && key in annotations;
  }).map((m) => `${m.manager}/${m.operation}`);
}

/** The operator's annotations on a workload: the metadata digest and record, the pod template's. */
function operatorAnnotations(w: Workload) {
  return {
    hash: w.metadata?.annotations?.[HASH],
    record: w.metadata?.annotations?.[RECORD_ANNOTATION],
    template: Object.fromEntries(Object.entries(w.spec?.template?.metadata?.annotations ?? {}).filter(([k]) => k.startsWith('config-reload.dev/'))),
  };
}

describe('gitops: the manifest re-applied after a roll (kubectl client-side, server-side as Flux, helm upgrade)', () => {
  const suite = namespaceWithOperator('gitops');
  let helmBin: string;

  before(async function () {
    this.timeout(75 * 60_000); // a cold testbed build includes helm
    helmBin = (await chartTools()).helm;
  });

  const WORKLOADS = (prefix: string): Array<[Kind, string]> => [['Deployment', `${prefix}-web`], ['StatefulSet', `${prefix}-db`]];
  const digestOf = (name: string, config: string) =>
    workloadDigest([{ name: `${name}-cfg`, optional: false, keys: null }], () => configMapContent({ data: { setting: config } }));
  const writes = (ns: string, kind: Kind, name: string) =>
    suite.op.decisions(`${kind}/${ns}/${name}`).filter((l) => ['rolled', 'adopted', 'patch refused by the API server'].includes(l.message));

  /** An applier: applies what Git holds at this point (creating on first use). */
  type Apply = (objects: Obj[]) => void;

  function kubectlApplier(prefix: string, args: string[]): Apply {
    const dir = scratchDir(`gitops-${prefix}`);
    let n = 0;
    return (objects) => { kubectl('apply', '-n', suite.ns, ...args, '-f', writeManifest(path.join(dir, `${++n}.yaml`), objects)); };
  }

  function helmApplier(prefix: string, serverSide: string[]): Apply {
    const chart = scratchDir(`gitops-chart-${prefix}`);
    mkdirSync(path.join(chart, 'templates'));
    writeFileSync(path.join(chart, 'Chart.yaml'), `apiVersion: v2\nname: ${prefix}\nversion: 0.1.0\n`);
    const env = helmEnv();
    return (objects) => {
      writeManifest(path.join(chart, 'templates', 'objects.yaml'), objects);
      run(helmBin, ['upgrade', '--install', prefix, chart, '-n', suite.ns, ...serverSide, '--kubeconfig', testbed().kubeconfigPath], { env });
    };
  }

  /**
   * The whole story for one way of applying: Git's manifest applied (adopted, no roll); the
   * config changed in Git and applied (one roll of each workload); then the same manifest
   * applied again (a resync or self-heal) and once more with a change outside the pod template
   * (a later commit). Returns what the diff tools said after the roll.
   */
  async function story(prefix: string, apply: Apply, opts: { diffAs?: string } = {}) {
    const ns = suite.ns;
    apply(manifest(prefix, 'v1'));
    for (const [kind, name] of WORKLOADS(prefix)) await settled(ns, kind, name, 1, undefined);
    await waitFor(`${prefix}: both adopted`, async () => {
      for (const [kind, name] of WORKLOADS(prefix)) if ((await read(ns, kind, name)).metadata?.annotations?.[HASH] !== digestOf(name, 'v1')) return undefined;
      return true;
    });

    // The config changes in Git: the operator rolls each workload once.
    apply(manifest(prefix, 'v2'));
    const rolled = new Map<string, { w: Workload; pod: string; writes: number }>();
    for (const [kind, name] of WORKLOADS(prefix)) {
      const digest = digestOf(name, 'v2');
      const s = await settled(ns, kind, name, 2, digest);
      const w = await waitFor(`${name}: metadata config-hash`, async () => {
        const x = await read(ns, kind, name);
        return x.metadata?.annotations?.[HASH] === digest && x.spec?.template?.metadata?.annotations?.[HASH] === digest ? x : undefined;
      });
      // The operator's writes are merge patches under its own field manager (an Update in managedFields).
      expect(ownersOf(w, HASH, 'template'), `${name}: owner of the template's ${HASH}`).to.deep.equal([`${FIELD_MANAGER}/Update`]);
      expect(ownersOf(w, HASH, 'metadata'), `${name}: owner of the metadata ${HASH}`).to.deep.equal([`${FIELD_MANAGER}/Update`]);
      rolled.set(name, { w, pod: s.pod, writes: writes(ns, kind, name).length });
    }

    // What a GitOps tool's diff sees now (Argo CD: legacy three-way diff ≈ kubectl diff,
    // Server-Side Diff ≈ kubectl diff --server-side).
    let diffs: { client: ReturnType<typeof kubectlDiff>; server: ReturnType<typeof kubectlDiff> } | undefined;
    if (opts.diffAs) {
      const file = writeManifest(path.join(scratchDir(`gitops-diff-${prefix}`), 'git.yaml'), manifest(prefix, 'v2'));
      diffs = { client: kubectlDiff(ns, file), server: kubectlDiff(ns, file, opts.diffAs) };
    }

    // Re-applied as it is (resync, self-heal), then with a change outside the pod template.
    apply(manifest(prefix, 'v2'));
    apply(manifest(prefix, 'v2', { revision: 'r3' }));
    const reapplied = new Map<string, Workload>();
    for (const [kind, name] of WORKLOADS(prefix)) {
      const w = await read(ns, kind, name);
      expect(w.metadata?.labels?.['example.com/git-revision'], `${name}: the later commit applied`).to.equal('r3');
      expect(operatorAnnotations(w), `${name}: the operator's annotations after the re-apply`).to.deep.equal(operatorAnnotations(rolled.get(name)!.w));
      reapplied.set(name, w);
    }

    // Sentinel: the operator has processed the re-applies' events; then nothing moved.
    await sentinelRoll(ns);
    for (const [kind, name] of WORKLOADS(prefix)) {
      const was = rolled.get(name)!;
      const w = await read(ns, kind, name);
      expect(await revisions(ns, kind, name), `${kind} ${name}: revisions (no second roll)`).to.equal(2);
      // Its controller may still write status (a later resourceVersion); nothing else may change.
      expect(writtenPart(w), `${name}: not written since the re-apply`).to.deep.equal(writtenPart(reapplied.get(name)!));
      expect(operatorAnnotations(w), `${name}: the operator's annotations`).to.deep.equal(operatorAnnotations(was.w));
      expect(w.spec?.template?.metadata?.annotations, `${name}: the pod template's annotations, Git's and the operator's`).to.deep.equal(was.w.spec?.template?.metadata?.annotations);
      expect((await livePods(ns, name)).map((p) => p.metadata?.uid), `${name}: the same pod runs`).to.deep.equal([was.pod]);
      expect(writes(ns, kind, name), `${name}: the operator wrote nothing after the roll`).to.have.length(was.writes);
    }
    return { diffs, rolled };
  }

  it('a. kubectl apply (client-side): the operator\'s annotations stay, no second roll, no write after the re-apply; kubectl diff (client- and server-side) shows no drift', async () => {
    const { diffs } = await story('csa', kubectlApplier('csa', []), { diffAs: 'argocd-controller' });
    expect(diffs!.client, 'kubectl diff (three-way, last-applied)').to.deep.equal({ code: 0, out: '' });
    expect(diffs!.server, 'kubectl diff --server-side --field-manager=argocd-controller').to.deep.equal({ code: 0, out: '' });
    const w = await read(suite.ns, 'Deployment', 'csa-web');
    expect(ownersOf(w, 'config-reload.dev/enabled', 'metadata'), 'the opt-in is kubectl\'s').to.deep.equal(['kubectl-client-side-apply/Update']);
  });

  it('b. kubectl apply --server-side --field-manager=kustomize-controller --force-conflicts (Flux): the annotations stay, owned by the operator; no second roll, no write; no drift', async () => {
    const { diffs } = await story('ssa', kubectlApplier('ssa', ['--server-side', '--field-manager=kustomize-controller', '--force-conflicts']), { diffAs: 'kustomize-controller' });
    expect(diffs!.client.code, 'kubectl diff').to.equal(0);
    expect(diffs!.server, 'kubectl diff --server-side').to.deep.equal({ code: 0, out: '' });
    for (const [kind, name] of WORKLOADS('ssa')) {
      const w = await read(suite.ns, kind, name);
      expect(ownersOf(w, HASH, 'template'), `${name}: template annotation still the operator's alone`).to.deep.equal([`${FIELD_MANAGER}/Update`]);
      expect(ownersOf(w, 'config-reload.dev/enabled', 'metadata'), `${name}: the opt-in is Flux's`).to.deep.equal(['kustomize-controller/Apply']);
    }
  });

  it('c. helm upgrade, client-side (Helm 3\'s three-way merge; Helm 4 --server-side=false): the annotations stay, no second roll, no write', async () => {
    await story('helm3', helmApplier('helm3', ['--server-side=false']));
    const w = await read(suite.ns, 'Deployment', 'helm3-web');
    expect(ownersOf(w, 'config-reload.dev/enabled', 'metadata'), 'helm applied client-side').to.deep.equal(['helm/Update']);
  });

  it('d. helm upgrade, server-side (Helm 4\'s default): the annotations stay, no second roll, no write', async () => {
    await story('helm4', helmApplier('helm4', []));
    const w = await read(suite.ns, 'Deployment', 'helm4-web');
    expect(ownersOf(w, 'config-reload.dev/enabled', 'metadata'), 'helm applied server-side').to.deep.equal(['helm/Apply']);
  });

  it('e. kubectl replace (Argo CD Replace=true, helm --force-replace) removes the annotations: the Deployment goes back to its first ReplicaSet with new pods, the operator re-records without rolling, then nothing', async () => {
    const ns = suite.ns;
    const apply = kubectlApplier('rep', []);
    const gitRep = (config: string) => manifest('rep', config).filter((o) => o.metadata.name.startsWith('rep-web'));
    apply(gitRep('v1'));
    await settled(ns, 'Deployment', 'rep-web', 1, undefined);
    await waitFor('rep-web adopted', async () => ((await read(ns, 'Deployment', 'rep-web')).metadata?.annotations?.[HASH] === digestOf('rep-web', 'v1') ? true : undefined));
    const firstReplicaSet = (await replicaSetsOf(ns, 'rep-web'))[0]?.metadata?.name;
    apply(gitRep('v2'));
    const digest = digestOf('rep-web', 'v2');
    const rolled = await settled(ns, 'Deployment', 'rep-web', 2, digest);
    const before = writes(ns, 'Deployment', 'rep-web').length;

    const file = writeManifest(path.join(scratchDir('gitops-replace'), 'web.yaml'), gitRep('v2').filter((o) => o.kind === 'Deployment'));
    kubectl('replace', '-n', ns, '-f', file);
    const replaced = await read(ns, 'Deployment', 'rep-web');
    expect(operatorAnnotations(replaced), 'replace removed them').to.deep.equal({ hash: undefined, record: undefined, template: {} });

    // The template is the first one again: its ReplicaSet takes over, with new pods (which read the current config).
    const back = await settled(ns, 'Deployment', 'rep-web', 2, undefined);
    expect(back.pod).to.not.equal(rolled.pod);
    const scale = Object.fromEntries((await replicaSetsOf(ns, 'rep-web')).map((r) => [r.metadata?.name === firstReplicaSet ? 'first' : 'roll', r.spec?.replicas]));
    expect(scale, 'the first ReplicaSet runs again, the roll\'s is scaled down').to.deep.equal({ first: 1, roll: 0 });
    await waitFor('metadata config-hash re-recorded', async () => ((await read(ns, 'Deployment', 'rep-web')).metadata?.annotations?.[HASH] !== undefined ? true : undefined));
    // Read once the rollout is complete again: the controller's status writes are behind it.
    const adopted = (await settled(ns, 'Deployment', 'rep-web', 2, undefined)).w;
    expect(adopted.metadata?.annotations?.[HASH], 'the digest of the config the new pods read').to.equal(digest);
    expect(operatorAnnotations(adopted).template, 'no template write').to.deep.equal({});

    await sentinelRoll(ns);
    const after = await read(ns, 'Deployment', 'rep-web');
    expect(after.metadata?.resourceVersion, 'nothing written since the re-record').to.equal(adopted.metadata?.resourceVersion);
    expect(await replicaSetsOf(ns, 'rep-web')).to.have.length(2);
    expect((await livePods(ns, 'rep-web')).map((p) => p.metadata?.uid)).to.deep.equal([back.pod]);
    const since = writes(ns, 'Deployment', 'rep-web').slice(before);
    expect(since.map((l) => [l.message, l.reason]), 'one write: a re-record, no roll').to.deep.equal([['adopted', 'first seen; recorded digest, no roll']]);
  });

  it('f. a later Git change to the pod template (an image) rolls once, by Git: the operator\'s template annotation is carried into it, the operator re-records without a second roll, then nothing', async () => {
    const ns = suite.ns;
    const apply = kubectlApplier('img', []);
    await story('img', apply);
    const before = new Map<string, { w: Workload; writes: number }>();
    for (const [kind, name] of WORKLOADS('img')) before.set(name, { w: await read(ns, kind, name), writes: writes(ns, kind, name).length });

    apply(manifest('img', 'v2', { revision: 'r3', image: 'registry.example/app:2' }));
    const settledAfter = new Map<string, Workload>();
    for (const [kind, name] of WORKLOADS('img')) {
      const digest = digestOf(name, 'v2');
      await waitFor(`${name}: re-recorded on the new template`, async () => {
        const x = await read(ns, kind, name);
        return x.metadata?.annotations?.[RECORD_ANNOTATION] !== before.get(name)!.w.metadata?.annotations?.[RECORD_ANNOTATION] ? x : undefined;
      });
      const { w } = await settled(ns, kind, name, 3, digest);
      expect(w.spec?.template?.spec?.containers?.[0]?.image).to.equal('registry.example/app:2');
      expect(operatorAnnotations(w).template, `${name}: the operator's template annotation carried into Git's roll`).to.deep.equal(operatorAnnotations(before.get(name)!.w).template);
      expect(w.metadata?.annotations?.[HASH]).to.equal(digest);
      settledAfter.set(name, w);
    }
    await sentinelRoll(ns);
    for (const [kind, name] of WORKLOADS('img')) {
      const w = await read(ns, kind, name);
      expect(await revisions(ns, kind, name), `${kind} ${name}: one roll, Git's`).to.equal(3);
      expect(w.metadata?.resourceVersion, `${name}: nothing written since the re-record`).to.equal(settledAfter.get(name)!.metadata?.resourceVersion);
      const since = writes(ns, kind, name).slice(before.get(name)!.writes);
      expect(since.map((l) => [l.message, l.reason]), `${name}: one write, a re-record`).to.deep.equal([
        ['adopted', 'the pod template was rewritten, and its pods run the current configuration: re-recorded without a roll'],
      ]);
    }
  });
  it('g. Git carrying the operator\'s template annotation (exported from the cluster): after the next roll kubectl diff shows that line as drift; a self-heal apply reverts it, one rollout back, the operator re-records without rolling, then no drift and nothing', async () => {
    const ns = suite.ns;
    const apply = kubectlApplier('exp', []);
    const git = (config: string, exported?: string) => manifest('exp', config).filter((o) => o.metadata.name.startsWith('exp-web')).map((o) => {
      if (o.kind !== 'Deployment' || exported === undefined) return o;
      const copy = structuredClone(o) as Obj & { spec: { template: { metadata: { annotations: Record<string, string> } } } };
      copy.spec.template.metadata.annotations[HASH] = exported;
      return copy;
    });
    apply(git('v1'));
    await waitFor('exp-web adopted', async () => ((await read(ns, 'Deployment', 'exp-web')).metadata?.annotations?.[HASH] === digestOf('exp-web', 'v1') ? true : undefined));
    apply(git('v2'));
    const v2 = digestOf('exp-web', 'v2');
    await settled(ns, 'Deployment', 'exp-web', 2, v2);
    // Someone commits the live object's template annotation to Git; then the config changes in Git.
    apply(git('v2', v2));
    apply(git('v3', v2));
    const v3 = digestOf('exp-web', 'v3');
    await settled(ns, 'Deployment', 'exp-web', 3, v3);

    const file = writeManifest(path.join(scratchDir('gitops-exported'), 'git.yaml'), git('v3', v2));
    const drift = kubectlDiff(ns, file);
    expect(drift.code, 'kubectl diff: drift').to.equal(1);
    const changed = drift.out.split('\n').filter((l) => /^[-+] /.test(l)).map((l) => l.replace(/\s+/g, ' ').trim());
    expect(changed.filter((l) => !/^[-+] generation: /.test(l)), 'the only drift: the template\'s config-hash').to.deep.equal([
      `- ${HASH}: ${v3}`, `+ ${HASH}: ${v2}`,
    ]);
    const before = writes(ns, 'Deployment', 'exp-web').length;

    // Self-heal: Git's manifest applied again puts Git's value back; the Deployment goes back to the ReplicaSet with that template.
    apply(git('v3', v2));
    await waitFor('exp-web re-recorded', async () => (writes(ns, 'Deployment', 'exp-web').length > before ? true : undefined));
    const healed = (await settled(ns, 'Deployment', 'exp-web', 3, v2)).w;
    expect(healed.metadata?.annotations?.[HASH], 'the digest of the config the new pods read').to.equal(v3);
    expect(kubectlDiff(ns, file), 'kubectl diff after the self-heal').to.deep.equal({ code: 0, out: '' });
    await sentinelRoll(ns);
    expect((await read(ns, 'Deployment', 'exp-web')).metadata?.resourceVersion, 'nothing written since').to.equal(healed.metadata?.resourceVersion);
    expect(await replicaSetsOf(ns, 'exp-web')).to.have.length(3);
    expect(writes(ns, 'Deployment', 'exp-web').slice(before).map((l) => [l.message, l.reason]), 'one write: a re-record').to.deep.equal([
      ['adopted', 'the pod template was rewritten, and its pods run the current configuration: re-recorded without a roll'],
    ]);
  });
});
