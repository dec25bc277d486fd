// Switching from Reloader or Wave (docs/migrating.md): the real peer binaries (../shared/peers
// beside the checkout, see its README) run first and roll the workloads their way, leaving their
// marker in the pod templates (Reloader's STAKATER_<NAME>_CONFIGMAP env var or its
// reloader.stakater.com/last-reloaded-from annotation, Wave's wave.pusher.com/config-hash); then
// the peer stops and the operator starts with --accept-annotations. Proven, counting ReplicaSets:
// the switch rolls nothing (the marker stays and is not a change), and the next configuration
// change rolls each workload exactly once. The operator does not touch the peer's annotations.
//
// Serial group (test/mocharc.e2e-serial.json): Reloader binds 127.0.0.1:9090 and Wave
// 127.0.0.1:8080, fixed. Each peer is scoped to the test's namespace (Reloader by
// KUBERNETES_NAMESPACE, Wave by --namespaces), so nothing else on the cluster is touched.
import type { V1Deployment } from '@kubernetes/client-node';
import { expect } from 'chai';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { testbed } from './hooks.ts';
import { OperatorProcess } from './operator-process.ts';
import {
  clients, createDeployment, createNamespace, deleteNamespace, deployment, HASH, readDeployment, recordedHash,
  replicaSetsOf, rewriteConfigMap, sentinelRoll, waitFor, waitForReplicaSets,
} from './support.ts';

/** The peers' binaries: ../shared/peers beside the checkout (as the benchmarks find them), or $CRO_PEERS_DIR. */
const PEERS = process.env.CRO_PEERS_DIR ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/peers');
const RELOADER_MARKER = 'reloader.stakater.com/last-reloaded-from';
const WAVE_MARKER = 'wave.pusher.com/config-hash';

/** A peer's process, its output kept for a failure's message. */
class Peer {
  readonly output: string[] = [];
  readonly #child: ChildProcess;
  readonly #exit: Promise<number | null>;

  constructor(binary: string, args: string[], env: Record<string, string>) {
    const base = { ...process.env };
    delete base.KUBERNETES_NAMESPACE;
    delete base.RELOADER_NAMESPACE;
    this.#child = spawn(`${PEERS}/${binary}`, args, { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const s of [this.#child.stdout, this.#child.stderr]) s?.on('data', (b: Buffer) => this.output.push(...b.toString().split('\n').filter((l) => l !== '')));
    this.#exit = new Promise((resolve) => this.#child.on('exit', (code) => resolve(code)));
  }

  get exited(): boolean {
    return this.#child.exitCode !== null || this.#child.signalCode !== null;
  }

  tail(): string {
    return this.output.slice(-20).join('\n');
  }

  async stop(): Promise<void> {
    if (!this.exited) this.#child.kill('SIGTERM');
    await this.#exit;
  }
}

/** Reloader's counter of informer events received, for one event type and resource. */
async function reloaderEvents(eventType: string, resource: string): Promise<number> {
  const body = await (await fetch('http://127.0.0.1:9090/metrics')).text();
  let sum = 0;
  for (const line of body.split('\n')) {
    if (!line.startsWith('reloader_events_received_total{')) continue;
    if (!line.includes(`event_type="${eventType}"`) || !line.toLowerCase().includes(`resource_type="${resource}"`)) continue;
    sum += Number(line.split(' ').at(-1));
  }
  return sum;
}

/**
 * Reloader scoped to `ns`, once its informers have listed every ConfigMap and Secret there (an
 * update after that reaches it; one before could be taken for the initial list's add).
 */
async function startReloader(ns: string, strategy: 'env-vars' | 'annotations'): Promise<Peer> {
  const peer = new Peer('reloader', [`--reload-strategy=${strategy}`, '--log-level=info'], {
    KUBECONFIG: testbed().kubeconfigPath, KUBERNETES_NAMESPACE: ns,
  });
  const { core } = clients();
  const configMaps = (await core.listNamespacedConfigMap({ namespace: ns })).items.length;
  const secrets = (await core.listNamespacedSecret({ namespace: ns })).items.length;
  await waitFor(`Reloader to list the ${configMaps} ConfigMaps and ${secrets} Secrets of ${ns}`, async () => {
    if (peer.exited) throw new Error(`reloader exited:\n${peer.tail()}`);
    const listed = await Promise.all([reloaderEvents('add', 'configmaps'), reloaderEvents('add', 'secrets')]).catch(() => [0, 0]);
    return listed[0]! >= configMaps && listed[1]! >= secrets ? true : undefined;
  }, 60_000).catch((err: Error) => {
    throw new Error(`${err.message}\nreloader output:\n${peer.tail()}`);
  });
  return peer;
}

function podSpec(w: Workload): Record<string, unknown> {
  const container: Record<string, unknown> = { name: 'app', image: 'registry.example/app:1' };
  const name = w.configMap;
  if (w.secret) {
    container.env = [{ name: 'SETTING', valueFrom: { secretKeyRef: { name, key: 'setting' } } }];
    return { containers: [container] };
  }
  if (w.how === 'envFrom') container.envFrom = [{ configMapRef: { name } }];
  if (w.how === 'key') container.env = [{ name: 'SETTING', valueFrom: { configMapKeyRef: { name, key: 'setting' } } }];
  if (w.how === 'volume') container.volumeMounts = [{ name: 'cfg', mountPath: '/cfg' }];
  return { containers: [container], ...(w.how === 'volume' ? { volumes: [{ name: 'cfg', configMap: { name } }] } : {}) };
}

interface Workload {
  name: string;
  /** The object it consumes: a ConfigMap, or with `secret` a Secret (by a key reference). */
  configMap: string;
  secret?: boolean;
  /** On the ConfigMap or Secret (Reloader's match switch). */
  sourceAnnotations?: Record<string, string>;
  /** The peer's opt-in on the workload's metadata. */
  annotations?: Record<string, string>;
  /** The peer's opt-in on the pod template instead (Reloader reads it there too). */
  templateAnnotations?: Record<string, string>;
  how: 'envFrom' | 'volume' | 'key';
}

async function create(ns: string, workloads: Workload[]): Promise<void> {
  const { core } = clients();
  for (const w of workloads) {
    const metadata = { name: w.configMap, annotations: w.sourceAnnotations ?? {} };
    if (w.secret) await core.createNamespacedSecret({ namespace: ns, body: { metadata, stringData: { setting: 'v1' } } });
    else await core.createNamespacedConfigMap({ namespace: ns, body: { metadata, data: { setting: 'v1' } } });
    const d = deployment(w.name, { annotations: w.annotations ?? {}, podSpec: podSpec(w) });
    if (w.templateAnnotations) d.spec!.template.metadata!.annotations = w.templateAnnotations;
    await createDeployment(ns, d);
  }
  for (const w of workloads) await waitForReplicaSets(ns, w.name, 1, 120_000);
}

async function change(ns: string, workloads: Workload[], value: string): Promise<void> {
  const { core } = clients();
  for (const w of workloads) {
    if (!w.secret) {
      await rewriteConfigMap(ns, w.configMap, { setting: value });
      continue;
    }
    const secret = await core.readNamespacedSecret({ namespace: ns, name: w.configMap });
    secret.data = { setting: Buffer.from(value).toString('base64') };
    await core.replaceNamespacedSecret({ namespace: ns, name: w.configMap, body: secret });
  }
}

async function counts(ns: string, workloads: Workload[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const w of workloads) out[w.name] = (await replicaSetsOf(ns, w.name)).length;
  return out;
}

const each = (workloads: Workload[], n: number) => Object.fromEntries(workloads.map((w) => [w.name, n]));

/** The Reloader env vars in a Deployment's containers (its env-vars strategy's marker). */
function stakaterEnv(d: V1Deployment): string[] {
  return (d.spec?.template?.spec?.containers ?? []).flatMap((c) => (c.env ?? []).map((e) => e.name)).filter((n) => n.startsWith('STAKATER_'));
}

/**
 * The switch: the operator starts with --accept-annotations `peer` on a namespace the peer left;
 * adopts every workload (its digest recorded) with no roll; a change then rolls each once, and
 * none of `quiet` (opted in, but the peer's rules leave their change out: 1 ReplicaSet each).
 */
async function switchTo(
  ns: string, peer: 'reloader' | 'wave', workloads: Workload[], before: number, marker: (d: V1Deployment) => unknown, quiet: Workload[] = [],
) {
  const markers = Object.fromEntries(await Promise.all(workloads.map(async (w) => [w.name, marker(await readDeployment(ns, w.name))])));
  const op = await OperatorProcess.start({ args: ['--namespace', ns, '--accept-annotations', peer] });
  try {
    for (const w of [...workloads, ...quiet]) await recordedHash(ns, w.name, 60_000);
    await sentinelRoll(ns);
    expect(await counts(ns, workloads), 'ReplicaSets after the switch').to.deep.equal(each(workloads, before));
    for (const w of workloads) {
      const lines = op.decisions(`Deployment/${ns}/${w.name}`).map((l) => l.message);
      expect(lines, `${w.name}: the operator's writes`).to.include('adopted').and.not.include('rolled');
      // The peer's marker is still there, as the peer left it: adopting it was not a change.
      expect(marker(await readDeployment(ns, w.name)), `${w.name}: the peer's marker`).to.deep.equal(markers[w.name]);
    }
    expect(op.logs.filter((l) => l.message === 'peer annotation not honoured exactly'), 'notices').to.deep.equal([]);

    await change(ns, [...quiet, ...workloads], 'v-operator');
    for (const w of workloads) await waitForReplicaSets(ns, w.name, before + 1, 120_000);
    await sentinelRoll(ns);
    expect(await counts(ns, workloads), 'ReplicaSets after a change under the operator').to.deep.equal(each(workloads, before + 1));
    expect(await counts(ns, quiet), 'ReplicaSets of the quiet ones').to.deep.equal(each(quiet, 1));
    for (const w of quiet) expect(op.decisions(`Deployment/${ns}/${w.name}`).map((l) => l.message), w.name).to.not.include('rolled');
    for (const w of workloads) {
      const rolled = op.decisions(`Deployment/${ns}/${w.name}`).filter((l) => l.message === 'rolled');
      expect(rolled, `${w.name}: rolled once`).to.have.length(1);
      const d = await readDeployment(ns, w.name);
      expect(d.spec?.template?.metadata?.annotations?.[HASH], `${w.name}: the template's digest`).to.equal(d.metadata?.annotations?.[HASH]);
      expect(marker(d), `${w.name}: the peer's marker, untouched`).to.deep.equal(markers[w.name]);
    }
  } finally {
    await op.stop();
  }
}

describe('migration: from Reloader and Wave, the switch rolls nothing (--accept-annotations)', function () {
  this.timeout(10 * 60_000);
  let ns: string | undefined;
  let peer: Peer | undefined;

  before(function () {
    if (!existsSync(`${PEERS}/reloader`) || !existsSync(`${PEERS}/wave`)) throw new Error(`the peer binaries are missing from ${PEERS}`);
  });

  afterEach(async () => {
    await peer?.stop();
    peer = undefined;
    if (ns) await deleteNamespace(ns);
    ns = undefined;
  });

  for (const strategy of ['env-vars', 'annotations'] as const) {
    it(`Reloader (--reload-strategy=${strategy}): it rolls each workload once its way; then the operator adopts with 0 rolls and rolls each once on a change`, async () => {
      ns = await createNamespace(`migrate-reloader-${strategy === 'env-vars' ? 'env' : 'ann'}`);
      const workloads: Workload[] = [
        { name: 'auto', configMap: 'auto-cfg', annotations: { 'reloader.stakater.com/auto': 'true' }, how: 'envFrom' },
        { name: 'named', configMap: 'named-cfg', annotations: { 'configmap.reloader.stakater.com/reload': 'named-cfg' }, how: 'volume' },
        { name: 'typed', configMap: 'typed-cfg', annotations: { 'configmap.reloader.stakater.com/auto': 'true' }, how: 'key' },
        { name: 'in-template', configMap: 'tmpl-cfg', templateAnnotations: { 'reloader.stakater.com/auto': 'true' }, how: 'envFrom' },
        {
          name: 'searcher', configMap: 'search-cfg', annotations: { 'reloader.stakater.com/search': 'true' },
          sourceAnnotations: { 'reloader.stakater.com/match': 'true' }, how: 'volume',
        },
        { name: 'secret-user', configMap: 'app-secret', secret: true, annotations: { 'secret.reloader.stakater.com/auto': 'true' }, how: 'key' },
      ];
      // Searching, but its ConfigMap lacks the match switch: neither Reloader nor the operator rolls it.
      const quiet: Workload[] = [{ name: 'unmatched', configMap: 'unmatched-cfg', annotations: { 'reloader.stakater.com/search': 'true' }, how: 'envFrom' }];
      await create(ns, [...workloads, ...quiet]);
      peer = await startReloader(ns, strategy);
      // The quiet one's change first: Reloader handles its events in order, so the others' rolls
      // mean it has decided on that one too.
      await change(ns, [...quiet, ...workloads], 'v-reloader');
      for (const w of workloads) {
        await waitForReplicaSets(ns, w.name, 2, 120_000).catch((err: Error) => {
          throw new Error(`${err.message}\nreloader output:\n${peer?.tail()}`);
        });
      }
      const marker = strategy === 'env-vars'
        ? (d: V1Deployment) => stakaterEnv(d)
        : (d: V1Deployment) => d.spec?.template?.metadata?.annotations?.[RELOADER_MARKER];
      for (const w of workloads) {
        const m = marker(await readDeployment(ns, w.name));
        if (strategy === 'env-vars') expect(m, `${w.name}: Reloader's env var`).to.have.length(1);
        else expect(m, `${w.name}: Reloader's annotation`).to.be.a('string').and.contain(w.configMap);
        if (strategy === 'env-vars') expect(m).to.deep.equal([`STAKATER_${w.configMap.toUpperCase().replace(/-/g, '_')}_${w.secret ? 'SECRET' : 'CONFIGMAP'}`]);
      }
      await peer.stop();
      peer = undefined;
      expect(await counts(ns, workloads), 'ReplicaSets after Reloader').to.deep.equal(each(workloads, 2));
      expect(await counts(ns, quiet), 'ReplicaSets of the unmatched one after Reloader').to.deep.equal(each(quiet, 1));

      await switchTo(ns, 'reloader', workloads, 2, marker, quiet);
    });
  }

  it('Wave: it rolls each workload at its start and once on a change; then the operator adopts with 0 rolls and rolls each once on a change', async () => {
    ns = await createNamespace('migrate-wave');
    const workloads: Workload[] = [
      { name: 'wave-env', configMap: 'wave-env-cfg', annotations: { 'wave.pusher.com/update-on-config-change': 'true' }, how: 'envFrom' },
      { name: 'wave-vol', configMap: 'wave-vol-cfg', annotations: { 'wave.pusher.com/update-on-config-change': 'true' }, how: 'volume' },
    ];
    await create(ns, workloads);
    peer = new Peer('wave', [`--kubeconfig=${testbed().kubeconfigPath}`, '--zap-devel=false', `--namespaces=${ns}`, '--update-rate=+Inf'], {});
    const p = peer;
    const hashed = async (n: number) => {
      for (const w of workloads) {
        await waitForReplicaSets(ns!, w.name, n, 120_000).catch((err: Error) => {
          throw new Error(`${err.message}\nwave output:\n${p.tail()}`);
        });
      }
    };
    // Wave writes its hash into every opted-in template it first sees: one roll each.
    await hashed(2);
    const first = await Promise.all(workloads.map(async (w) => (await readDeployment(ns!, w.name)).spec?.template?.metadata?.annotations?.[WAVE_MARKER]));
    expect(first.every((h) => typeof h === 'string' && h.length > 0), 'Wave\'s config-hash').to.equal(true);
    await change(ns, workloads, 'v-wave');
    await hashed(3);
    await peer.stop();
    peer = undefined;
    expect(await counts(ns, workloads), 'ReplicaSets after Wave').to.deep.equal(each(workloads, 3));

    await switchTo(ns, 'wave', workloads, 3, (d) => d.spec?.template?.metadata?.annotations?.[WAVE_MARKER]);
  });
});
