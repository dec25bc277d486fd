// What --namespace-selector costs (docs/namespace-selection.md): `total` namespaces, each with
// one ConfigMap of `kib` KiB; `selected` of them labelled config-reload.dev/watch=true and each
// holding one opted-in Deployment that reads its ConfigMap (replicas 0, created with its digest).
// The operator runs on the same cluster three ways, once each:
//   selector   --namespace-selector config-reload.dev/watch=true
//   list       --namespace <the selected ones, comma-joined>
//   unscoped   every namespace
// Per run: time to sync, RSS at sync (/proc) and once idle, the bytes and count of the LISTs the
// apiserver answered over the run (apiserver_response_sizes, every client; the rest of the
// control plane lists rarely), and the operator's open sockets (one per watch: HTTP/1.1).
//
//   npx tsx bench/experiments/namespace-selection.ts [--total 10000] [--selected 1000] [--kib 1]
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startCluster, OPERATOR_NS, OPERATOR_SA } from '../lib/cluster.ts';
import { pool } from '../lib/kube.ts';
import { configMap, DATA_KEY, type Data, deployment, ENABLED, HASH, loadDigester, payload, podSpec } from '../lib/objects.ts';
import { startOperator, type RunningOperator } from '../lib/operator.ts';
import { snapshotOperator } from '../lib/snapshot.ts';

const { values } = parseArgs({ options: { total: { type: 'string' }, selected: { type: 'string' }, kib: { type: 'string' }, out: { type: 'string' } } });
const total = Number(values.total ?? 10_000);
const selectedCount = Number(values.selected ?? 1_000);
const bytes = Number(values.kib ?? 1) * 1024;
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const out = values.out ?? path.join(repo, 'bench/results/experiments', `namespace-selection-${selectedCount}-of-${total}.json`);
const log = (line: string) => process.stderr.write(`[namespace-selection] ${line}\n`);
const LABEL = 'config-reload.dev/watch';
const mib = (b: number) => Math.round((b / 1048576) * 10) / 10;

const work = mkdtempSync(path.join(os.tmpdir(), 'cro-nsel-'));
const snap = snapshotOperator(repo, path.join(work, 'operator'));
const digester = await loadDigester(snap.dir);
const cl = await startCluster(path.join(work, 'cluster'), snap.dir, log);

/** Sums of the apiserver's LIST response sizes by resource (every client). */
async function listFigures(): Promise<Record<string, { requests: number; bytes: number }>> {
  const res = await cl.admin.requestRetry<unknown>('GET', '/metrics');
  const text = typeof res.body === 'string' ? res.body : '';
  const figures: Record<string, { requests: number; bytes: number }> = {};
  for (const m of text.matchAll(/^apiserver_response_sizes_(sum|count)\{([^}]*)\} ([0-9.e+-]+)$/gm)) {
    const labels = m[2] ?? '';
    if (!labels.includes('verb="LIST"')) continue;
    const resource = /resource="([^"]*)"/.exec(labels)?.[1] ?? '?';
    const f = (figures[resource] ??= { requests: 0, bytes: 0 });
    if (m[1] === 'sum') f.bytes += Number(m[3]);
    else f.requests += Number(m[3]);
  }
  return figures;
}

function listDiff(a: Record<string, { requests: number; bytes: number }>, b: Record<string, { requests: number; bytes: number }>) {
  const d: Record<string, { requests: number; MiB: number }> = {};
  for (const [k, v] of Object.entries(b)) {
    const requests = v.requests - (a[k]?.requests ?? 0);
    if (requests > 0) d[k] = { requests, MiB: mib(v.bytes - (a[k]?.bytes ?? 0)) };
  }
  return d;
}

/** The bench's objects name their namespace (NS): these live in their own. */
function inNamespace(o: Record<string, unknown>, namespace: string): Record<string, unknown> {
  return { ...o, metadata: { ...(o.metadata as Record<string, unknown>), namespace } };
}

async function idle(op: RunningOperator): Promise<void> {
  let last = -1;
  let stable = 0;
  while (stable < 8) {
    const c = await op.metric('config_reload_reconcile_duration_seconds_count');
    stable = c === last ? stable + 1 : 0;
    last = c;
    await new Promise((r) => setTimeout(r, 250));
  }
}

try {
  // The bench installs manifests/base: a selector needs list/watch on Namespaces besides.
  await cl.admin.requestRetry('POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', {
    metadata: { name: 'bench-namespace-selector' }, rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['list', 'watch'] }],
  });
  await cl.admin.requestRetry('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    metadata: { name: 'bench-namespace-selector' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'bench-namespace-selector' },
    subjects: [{ kind: 'ServiceAccount', name: OPERATOR_SA, namespace: OPERATOR_NS }],
  });
  const names = Array.from({ length: total }, (_, i) => `nsel-${i}`);
  // Spread over the range, so that a namespace's index says nothing of its selection.
  const selected = new Set(Array.from({ length: selectedCount }, (_, k) => names[Math.floor((k * total) / selectedCount)] as string));
  const t0 = performance.now();
  let done = 0;
  await pool(names, 32, async (ns) => {
    const chosen = selected.has(ns);
    await cl.admin.requestRetry('POST', '/api/v1/namespaces', { metadata: { name: ns, labels: chosen ? { [LABEL]: 'true' } : {} } });
    const data: Data = { [DATA_KEY]: payload(bytes) };
    await cl.admin.requestRetry('POST', `/api/v1/namespaces/${ns}/configmaps`, inNamespace(configMap('cfg', data), ns));
    if (chosen) {
      const spec = podSpec(['cfg']);
      const annotations: Data = { [ENABLED]: 'true' };
      annotations[HASH] = digester(spec, annotations, (kind, name) => (kind === 'ConfigMap' && name === 'cfg' ? data : undefined));
      await cl.admin.requestRetry('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, inNamespace(deployment('app', spec, annotations), ns));
    }
    if (++done % 1000 === 0) log(`created ${done}/${total} namespaces`);
  });
  const createSeconds = Math.round((performance.now() - t0) / 1000);
  log(`${total} namespaces (${selectedCount} selected) with a ConfigMap of ${bytes / 1024} KiB each, ${selectedCount} Deployments, in ${createSeconds} s`);
  await new Promise((r) => setTimeout(r, 10_000)); // the Deployment controller's ReplicaSets, before any measurement

  const arms: Array<{ arm: string; args: string[] }> = [
    { arm: 'selector', args: ['--namespace-selector', `${LABEL}=true`] },
    { arm: 'list', args: ['--namespace', [...selected].join(',')] },
    { arm: 'unscoped', args: [] },
  ];
  const results: Array<Record<string, unknown>> = [];
  for (const { arm, args } of arms) {
    const before = await listFigures();
    const op = await startOperator({
      operatorDir: snap.dir, runtime: snap.built ? 'dist' : 'tsx', kubeconfig: cl.operatorKubeconfig, logDir: work, label: arm, logLevel: 'info',
      extraArgs: ['--debounce', '0', ...args],
    }, 1_200_000);
    const atSync = await op.memory();
    const listsToSync = listDiff(before, await listFigures());
    await idle(op);
    const settled = await op.memory();
    const stored = await op.metricBy('config_reload_watched_objects', 'resource');
    const rolls = await op.metric('config_reload_rolls_total');
    await op.proc.stop();
    const row = {
      arm, syncedMs: Math.round(op.syncedMs), rssAtSyncMiB: mib(atSync.rssBytes), rssIdleMiB: mib(settled.rssBytes), peakRssMiB: mib(settled.peakRssBytes),
      heapUsedIdleMiB: mib(settled.heapUsedBytes), sockets: settled.sockets, readMiBToSync: mib(atSync.readBytes ?? NaN), listsToSync, stored, rolls,
    };
    results.push(row);
    log(`${arm}: ${JSON.stringify(row)}`);
  }
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({
    command: `npx tsx bench/experiments/namespace-selection.ts --total ${total} --selected ${selectedCount} --kib ${bytes / 1024}`,
    operatorCommit: snap.commit, dirty: snap.dirty, runtime: snap.built ? 'dist' : 'tsx', cpus: os.cpus().length, loadavg: os.loadavg(),
    total, selected: selectedCount, configMapBytes: bytes, createSeconds, results,
  }, null, 1)}\n`);
  log(`wrote ${out}`);
} finally {
  await cl.stop();
}
process.exit(0);
