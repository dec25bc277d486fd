// Issue 21, point 2, on the real control plane: `wide` ConfigMaps of `keys` empty keys each
// (1 MiB at 80,000) that no workload reads, rewritten one after the other for `seconds` (a
// tenant's stream of updates), beside `pairs` ordinary opted-in ConfigMap/Deployment pairs.
// The operator runs twice on the same cluster, leading (--leader-elect): with the key budget
// (default --max-keys-per-object 2000) and without it (--max-keys-per-object 1000000: every
// object digested key by key, as before the budget). Per run: RSS and heap (peak, and at the
// end), the gaps between the Lease's renewals (the operator renews every 2 s at the default 15 s
// lease; a blocked event loop stretches the gap), and the latency of unrelated changes (an
// ordinary ConfigMap rewritten, until its Deployment's pod template carries the new digest).
//
//   npx tsx bench/experiments/key-budget-stream.ts [--wide 50] [--keys 80000] [--pairs 20] [--seconds 60]
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { OPERATOR_NS, OPERATOR_SA, startCluster } from '../lib/cluster.ts';
import { pool } from '../lib/kube.ts';
import { configMap, DATA_KEY, type Data, deployment, ENABLED, HASH, loadDigester, NS, payload, podSpec } from '../lib/objects.ts';
import { type RunningOperator, startOperator } from '../lib/operator.ts';
import { snapshotOperator } from '../lib/snapshot.ts';

const { values } = parseArgs({ options: { wide: { type: 'string' }, keys: { type: 'string' }, pairs: { type: 'string' }, seconds: { type: 'string' }, out: { type: 'string' } } });
const wideCount = Number(values.wide ?? 50);
const keyCount = Number(values.keys ?? 80_000);
const pairCount = Number(values.pairs ?? 20);
const seconds = Number(values.seconds ?? 60);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const out = values.out ?? path.join(repo, 'bench/results/experiments', `key-budget-stream-${wideCount}x${keyCount}.json`);
const log = (line: string) => process.stderr.write(`[key-budget-stream] ${line}\n`);
const mib = (b: number) => Math.round((b / 1048576) * 10) / 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.min(s.length - 1, Math.floor(q * s.length))] as number);
};

const work = mkdtempSync(path.join(os.tmpdir(), 'cro-kbs-'));
const snap = snapshotOperator(repo, path.join(work, 'operator'));
const digester = await loadDigester(snap.dir);
const cl = await startCluster(path.join(work, 'cluster'), snap.dir, log);

function wideData(version: number): Data {
  const data: Data = {};
  for (let i = 0; i < keyCount; i++) data[`k${String(i).padStart(6, '0')}`] = '';
  data['k000000'] = String(version);
  return data;
}

try {
  // The bench applies the ClusterRole of manifests/base; leader election needs the Lease Role too.
  await cl.admin.requestRetry('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${OPERATOR_NS}/roles`, {
    metadata: { name: 'bench-leases' }, rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }],
  });
  await cl.admin.requestRetry('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${OPERATOR_NS}/rolebindings`, {
    metadata: { name: 'bench-leases' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'bench-leases' },
    subjects: [{ kind: 'ServiceAccount', name: OPERATOR_SA, namespace: OPERATOR_NS }],
  });
  await cl.admin.requestRetry('POST', '/api/v1/namespaces', { metadata: { name: NS } }, undefined, (status) => status === 409);
  const pairs = Array.from({ length: pairCount }, (_, i) => `app-${i}`);
  await pool(pairs, 8, async (app) => {
    const data: Data = { [DATA_KEY]: payload(1024) };
    await cl.admin.requestRetry('POST', `/api/v1/namespaces/${NS}/configmaps`, configMap(`${app}-cfg`, data));
    const spec = podSpec([`${app}-cfg`]);
    const annotations: Data = { [ENABLED]: 'true' };
    annotations[HASH] = digester(spec, annotations, (kind, name) => (kind === 'ConfigMap' && name === `${app}-cfg` ? data : undefined));
    await cl.admin.requestRetry('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, deployment(app, spec, annotations));
  });
  const t0 = performance.now();
  for (let i = 0; i < wideCount; i++) await cl.admin.requestRetry('POST', `/api/v1/namespaces/${NS}/configmaps`, configMap(`wide-${i}`, wideData(0)));
  log(`${pairCount} pairs and ${wideCount} ConfigMaps of ${keyCount} keys created (${Math.round((performance.now() - t0) / 1000)} s)`);

  const arms = [
    { arm: 'key budget (default 2000)', args: [] as string[] },
    { arm: 'no budget (--max-keys-per-object 1000000)', args: ['--max-keys-per-object', '1000000'] },
  ];
  const results: Array<Record<string, unknown>> = [];
  let version = 0;
  for (const { arm, args } of arms) {
    const label = arm.split(' ')[0] ?? 'op';
    let op: RunningOperator | undefined;
    try {
      op = await startOperator({
        operatorDir: snap.dir, runtime: snap.built ? 'dist' : 'tsx', kubeconfig: cl.operatorKubeconfig, logDir: work, label, logLevel: 'info',
        extraArgs: ['--debounce', '0', '--namespace', NS, '--leader-elect', '--leader-election-namespace', OPERATOR_NS, ...args],
      }, 1_200_000);
      results.push(await runArm(arm, op));
    } catch (err) {
      // Without the budget the operator may not survive the run (a Lease not renewed in time): what it said is the result.
      const said = readFileSync(path.join(work, `operator-${label}.log`), 'utf8').split('\n').flatMap((line) => {
        try {
          const l = JSON.parse(line) as Record<string, unknown>;
          return l['level'] === 'warn' || l['level'] === 'error' ? [{ message: l['message'], reason: l['reason'] }] : [];
        } catch {
          return [];
        }
      });
      const row = { arm, failed: (err as Error).message.split('\n')[0], operatorWarnings: said };
      results.push(row);
      log(`${arm}: ${JSON.stringify(row)}`);
    } finally {
      await op?.proc.stop();
    }
  }

  /** One arm's measurements, the operator leading: the tenant's stream, the Lease, memory, unrelated changes. */
  async function runArm(arm: string, op: RunningOperator): Promise<Record<string, unknown>> {
    while ((await op.metric('config_reload_leader')) !== 1) await sleep(200);
    const atSync = await op.memory();
    let running = true;
    const deadline = performance.now() + seconds * 1000;
    // The tenant: each wide ConfigMap in turn, one write at a time (each a 1 MiB PUT).
    let tenantWrites = 0;
    const tenant = (async () => {
      while (running && performance.now() < deadline) {
        version++;
        await cl.admin.requestRetry('PUT', `/api/v1/namespaces/${NS}/configmaps/wide-${version % wideCount}`, configMap(`wide-${version % wideCount}`, wideData(version)));
        tenantWrites++;
      }
    })().catch(() => undefined);
    // The Lease's renewTime, as the operator stamps it.
    const renewals: number[] = [];
    const lease = (async () => {
      while (running && performance.now() < deadline) {
        const res = await cl.admin.requestRetry<{ spec?: { renewTime?: string } }>('GET', `/apis/coordination.k8s.io/v1/namespaces/${OPERATOR_NS}/leases/config-reload-operator`);
        const at = Date.parse(res.body.spec?.renewTime ?? '');
        if (Number.isFinite(at) && at !== renewals.at(-1)) renewals.push(at);
        await sleep(250);
      }
    })().catch(() => undefined);
    let peakRss = 0;
    let peakHeap = 0;
    const memory = (async () => {
      while (running && performance.now() < deadline) {
        const m = await op.memory();
        peakRss = Math.max(peakRss, m.rssBytes);
        peakHeap = Math.max(peakHeap, m.heapUsedBytes);
        await sleep(1000);
      }
    })().catch(() => undefined);
    // Unrelated changes, one every 2 s: latency to the pod template's new digest.
    const latencies: number[] = [];
    let sample = 0;
    while (performance.now() < deadline - 10_000) {
      const app = pairs[sample++ % pairs.length] as string;
      const before = (await cl.admin.requestRetry<{ spec: { template: { metadata: { annotations?: Data } } } }>('GET', `/apis/apps/v1/namespaces/${NS}/deployments/${app}`)).body.spec.template.metadata.annotations?.[HASH];
      const start = performance.now();
      await cl.admin.requestRetry('PUT', `/api/v1/namespaces/${NS}/configmaps/${app}-cfg`, configMap(`${app}-cfg`, { [DATA_KEY]: payload(1024) }));
      for (;;) {
        const now = (await cl.admin.requestRetry<{ spec: { template: { metadata: { annotations?: Data } } } }>('GET', `/apis/apps/v1/namespaces/${NS}/deployments/${app}`)).body.spec.template.metadata.annotations?.[HASH];
        if (now !== undefined && now !== before) break;
        if (performance.now() - start > 60_000) throw new Error(`${arm}: ${app} not rolled within 60 s`);
        await sleep(50);
      }
      latencies.push(performance.now() - start);
      await sleep(2000);
    }
    running = false;
    await Promise.all([tenant, lease, memory]);
    const end = await op.memory();
    const overBudget = await op.metric('config_reload_sources_over_budget');
    const gaps = renewals.slice(1).map((t, i) => t - (renewals[i] as number));
    const row = {
      arm, syncedMs: Math.round(op.syncedMs), rssAtSyncMiB: mib(atSync.rssBytes), peakRssMiB: mib(Math.max(peakRss, end.peakRssBytes)),
      heapAtSyncMiB: mib(atSync.heapUsedBytes), peakHeapMiB: mib(peakHeap), heapEndMiB: mib(end.heapUsedBytes), cpuSeconds: Math.round(end.cpuSeconds - atSync.cpuSeconds),
      tenantWrites, leaseRenewals: renewals.length, renewGapMs: { p50: quantile(gaps, 0.5), max: Math.max(...gaps) },
      unrelatedChangeMs: { samples: latencies.length, p50: Math.round(quantile(latencies, 0.5)), max: Math.round(Math.max(...latencies)) }, overBudget,
    };
    log(`${arm}: ${JSON.stringify(row)}`);
    return row;
  }
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({
    command: `npx tsx bench/experiments/key-budget-stream.ts --wide ${wideCount} --keys ${keyCount} --pairs ${pairCount} --seconds ${seconds}`,
    operatorCommit: snap.commit, dirty: snap.dirty, runtime: snap.built ? 'dist' : 'tsx', cpus: os.cpus().length, loadavg: os.loadavg(), results,
  }, null, 1)}\n`);
  log(`wrote ${out}`);
} finally {
  await cl.stop();
}
process.exit(0);
