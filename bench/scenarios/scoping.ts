// scoping: what scoping at the watch saves. `total` ConfigMaps of `bytes` each (random,
// incompressible data), of which `selected` carry the label reload=yes, live in namespace
// `bench` and are each consumed by one opted-in Deployment (replicas 0, created already adopted:
// every start is a restart that rolls nothing). The others carry no label, are consumed by
// nothing and live in namespaces of their own (`bench-other-<k>`, `selected` to a namespace).
// The operator is run on these same objects, one cluster, `--debounce 0`, in rounds of three:
//   unscoped (every ConfigMap of every namespace);
//   --configmap-selector reload=yes (the apiserver sends the selected ones only);
//   --namespace bench (one watch per kind in the namespace that holds the selected ones).
// Per run: RSS read from /proc the moment "caches synced" arrives, and once idle; sync time; the
// bytes of the configmaps LISTs (the apiserver's apiserver_response_sizes, the compressed bytes
// it wrote) and the bytes the process read (rchar); every configmaps LIST/WATCH of the operator
// with its namespace and label selector (audit log); latency of a change of a selected
// ConfigMap; then `churn` unselected ConfigMaps rewritten: the watch traffic and work they cost.
import { type ApiserverFigures, apiserverFigures, apiserverStill, diff } from '../lib/apiserver-metrics.ts';
import { type AuditRequest, countByVerb, readAudit, type Window } from '../lib/audit.ts';
import { OPERATOR_USER } from '../lib/cluster.ts';
import type { Ctx } from '../lib/context.ts';
import { type Env, openWindow, queueIdle, readSync, startOp, stopOp, withCluster } from '../lib/harness.ts';
import { pool } from '../lib/kube.ts';
import { type LatencyResult, measureLatency } from '../lib/latency.ts';
import { type LoadReport, watchLoad } from '../lib/load.ts';
import { configMap, DATA_KEY, type Data, deployment, ENABLED, HASH, NS, payload, podSpec } from '../lib/objects.ts';
import type { OperatorMemory } from '../lib/procs.ts';
import { mib } from '../lib/stats.ts';
import { until } from '../lib/tracker.ts';
import { round1 } from '../lib/util.ts';

export interface ScopingSpec {
  kind: 'scoping';
  name: string;
  /** ConfigMaps in the cluster. */
  total: number;
  /** Of them, labelled reload=yes in namespace bench, each consumed by one opted-in Deployment. */
  selected: number;
  /** Bytes of data per ConfigMap. */
  bytes: number;
  /** Rounds of the three runs (unscoped, selector, namespace). */
  rounds: number;
  /** Unselected ConfigMaps rewritten at the end of each run (0: none). */
  churn: number;
  /** Latency samples per run (+ warmup, discarded). */
  samples: number;
  warmup: number;
}

export const SCOPING_LABEL = 'reload';
export const SCOPING_VALUE = 'yes';
export const OTHER_NS_PREFIX = 'bench-other-';

export type ArmId = 'unscoped' | 'selector' | 'namespace';

export const ARMS: ReadonlyArray<{ id: ArmId; label: string; args: string[] }> = [
  { id: 'unscoped', label: 'unscoped', args: [] },
  { id: 'selector', label: `--configmap-selector ${SCOPING_LABEL}=${SCOPING_VALUE}`, args: ['--configmap-selector', `${SCOPING_LABEL}=${SCOPING_VALUE}`] },
  { id: 'namespace', label: `--namespace ${NS}`, args: ['--namespace', NS] },
];

export interface RequestGroup {
  verb: string;
  /** '' for a cluster-wide request. */
  namespace: string;
  labelSelector: string;
  count: number;
}

export interface ScopingRun {
  arm: ArmId;
  label: string;
  round: number;
  args: string[];
  bootMs: number | undefined;
  syncedMs: number;
  /** Objects in the operator's stores at sync (its "caches synced" log line). */
  stored: Record<string, number>;
  /** VmRSS read from /proc/<pid>/status by the harness the moment "caches synced" arrived. */
  procRssAtSyncBytes: number;
  /** /metrics and /proc just after (memoryAtSync), once idle (memorySettled), after the churn. */
  memoryAtSync: OperatorMemory;
  memorySettled: OperatorMemory;
  memoryAfterChurn: OperatorMemory | undefined;
  /** rchar of /proc/<pid>/io: bytes read through read() from spawn to sync, and to the end of the run. */
  readBytesAtSync: number;
  readBytesAtEnd: number;
  /** The apiserver's counters over the run (start to stop), differences. */
  apiserver: ApiserverFigures;
  /** Every configmaps LIST and WATCH of the operator in the run (audit log). */
  configMapRequests: RequestGroup[];
  /** Every request of the operator in the run by "verb resource" (audit log). */
  api: Record<string, number>;
  rollsMetric: number;
  adoptions: number;
  latency: LatencyResult;
  churn: ChurnResult | undefined;
  load: LoadReport;
}

export interface ChurnResult {
  /** Unselected ConfigMaps rewritten (new content, same size). */
  changes: number;
  writeSeconds: number;
  /** rchar growth of the operator from the first write until it was idle again. */
  readBytes: number;
  /** ConfigMap watch events the apiserver sent meanwhile, to every watcher (the control plane's own included). */
  apiserverWatchEvents: number;
  apiserverWatchEventBytes: number;
  /** Reconcile decisions meanwhile, by action (nothing consumes these ConfigMaps: expect none). */
  decisions: Record<string, number>;
  rolls: number;
}

export interface ScopingResult {
  scenario: string;
  kind: 'scoping';
  total: number;
  selected: number;
  configMapBytes: number;
  selector: string;
  namespaces: { selected: string; others: number; perNamespace: number };
  createSeconds: number;
  quietSeconds: number;
  /**
   * The method's check: the harness lists every ConfigMap (pages of 500) and counts the body bytes
   * it receives, uncompressed and with gzip; beside each, what apiserver_response_sizes grew by.
   */
  calibration: { plainBytes: number; plainApiserverBytes: number; gzipBytes: number; gzipApiserverBytes: number; items: number };
  runs: ScopingRun[];
  operatorProblems: string[];
}

/** The operator's configmaps LISTs and WATCHes inside a window, by verb, namespace and labelSelector. */
function configMapRequests(requests: readonly AuditRequest[], w: Window): RequestGroup[] {
  const groups = new Map<string, RequestGroup>();
  for (const r of requests) {
    if (r.user !== OPERATOR_USER || r.resource !== 'configmaps' || r.at < w.from || r.at > w.to) continue;
    if (r.verb !== 'list' && r.verb !== 'watch') continue;
    const url = new URL(r.uri, 'https://apiserver');
    const namespace = /\/namespaces\/([^/]+)\/configmaps/.exec(url.pathname)?.[1] ?? '';
    const labelSelector = url.searchParams.get('labelSelector') ?? '';
    const k = `${r.verb}|${namespace}|${labelSelector}`;
    const g = groups.get(k) ?? { verb: r.verb, namespace, labelSelector, count: 0 };
    g.count++;
    groups.set(k, g);
  }
  return [...groups.values()].sort((a, b) => a.verb.localeCompare(b.verb) || a.namespace.localeCompare(b.namespace) || a.labelSelector.localeCompare(b.labelSelector));
}

function otherConfigMap(index: number, perNamespace: number): { namespace: string; name: string } {
  return { namespace: `${OTHER_NS_PREFIX}${Math.floor(index / perNamespace)}`, name: `other-${index}` };
}

export async function runScoping(ctx: Ctx, sc: ScopingSpec): Promise<ScopingResult> {
  return withCluster(ctx, sc.name, async (env) => {
    const admin = env.cl.admin;
    const perNamespace = Math.max(1, sc.selected);
    const unselected = Math.max(0, sc.total - sc.selected);
    const others = Math.ceil(unselected / perNamespace);
    for (let k = 0; k < others; k++) await admin.requestRetry('POST', '/api/v1/namespaces', { metadata: { name: `${OTHER_NS_PREFIX}${k}` } });

    // The selected pairs: ConfigMap cfg-<i> (labelled) consumed by Deployment app-<i>, adopted.
    const t0 = performance.now();
    const apps = Array.from({ length: sc.selected }, (_, i) => `app-${i}`);
    let done = 0;
    const progress = () => {
      if (++done % 1000 === 0) ctx.log(`  created ${done}/${sc.total} ConfigMaps`);
    };
    await pool(apps, ctx.settings.concurrency, async (app, i) => {
      const cm = `cfg-${i}`;
      const data: Data = { [DATA_KEY]: payload(sc.bytes) };
      const body = configMap(cm, data) as { metadata: Record<string, unknown> };
      body.metadata['labels'] = { [SCOPING_LABEL]: SCOPING_VALUE };
      await admin.requestRetry('POST', `/api/v1/namespaces/${NS}/configmaps`, body);
      progress();
      const spec = podSpec([cm]);
      const annotations: Data = { [ENABLED]: 'true' };
      annotations[HASH] = ctx.digester(spec, annotations, (kind, name) => (kind === 'ConfigMap' && name === cm ? data : undefined));
      await admin.requestRetry('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, deployment(app, spec, annotations));
    });
    // The others: unlabelled, consumed by nothing, in namespaces of their own.
    await pool(Array.from({ length: unselected }, (_, j) => j), ctx.settings.concurrency, async (j) => {
      const { namespace, name } = otherConfigMap(j, perNamespace);
      await admin.requestRetry('POST', `/api/v1/namespaces/${namespace}/configmaps`, {
        apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data: { [DATA_KEY]: payload(sc.bytes) },
      });
      progress();
    });
    const createSeconds = round1((performance.now() - t0) / 1000);
    const t1 = performance.now();
    await until(() => env.tracker.size >= sc.selected && env.tracker.unobserved() === 0, 600_000, 250);
    const quietSeconds = round1((performance.now() - t1) / 1000);
    ctx.log(`  ${sc.total} ConfigMaps of ${Math.round(sc.bytes / 1024)} KiB (${sc.selected} selected, in ${NS}; ${unselected} in ${others} other namespaces) `
      + `and ${sc.selected} Deployments created in ${createSeconds} s; Deployment controller caught up ${quietSeconds} s later`);

    // The method's check: what the harness receives against what the apiserver counts.
    const calibrate = async (gzip: boolean) => {
      const before = await apiserverStill(env);
      const got = await admin.listAll('/api/v1/configmaps', 500, gzip);
      const after = await apiserverFigures(env);
      return { bytes: got.bytes, apiserverBytes: after.listConfigMapsBytes - before.listConfigMapsBytes, items: got.items };
    };
    const plain = await calibrate(false);
    const gz = await calibrate(true);
    const calibration = { plainBytes: plain.bytes, plainApiserverBytes: plain.apiserverBytes, gzipBytes: gz.bytes, gzipApiserverBytes: gz.apiserverBytes, items: gz.items };
    ctx.log(`  calibration: harness LIST of ${gz.items} ConfigMaps received ${mib(plain.bytes)} MiB plain (apiserver counted ${mib(plain.apiserverBytes)} MiB), `
      + `${mib(gz.bytes)} MiB gzip (apiserver counted ${mib(gz.apiserverBytes)} MiB)`);

    const latencyEnv: Env = { ...env, ctx: { ...ctx, settings: { ...ctx.settings, samples: sc.samples, warmup: sc.warmup } } };
    const runs: Array<Omit<ScopingRun, 'configMapRequests' | 'api'>> = [];
    const windows: Window[] = [];
    for (let round = 1; round <= sc.rounds; round++) {
      for (const arm of ARMS) {
        const before = await apiserverStill(env);
        const load = watchLoad(2000);
        const w = openWindow(env, `scoping: ${arm.label} #${round}`, OPERATOR_USER);
        windows.push(w);
        const op = await startOp(env, `${arm.id}-${round}`, '0', 600_000, { args: arm.args });
        const atSync = op.proc.stat();
        const { stored, memoryAtSync, memorySettled, rollsMetric, adoptions } = await readSync(op);
        ctx.log(`  ${arm.label} #${round}: synced ${Math.round(op.syncedMs)} ms, stored ${JSON.stringify(stored)}, RSS at sync ${mib(atSync?.rssBytes ?? NaN)} MiB `
          + `(/proc), idle ${mib(memorySettled.rssBytes)} MiB, peak ${mib(memorySettled.peakRssBytes)} MiB, read ${mib(atSync?.readBytes ?? NaN)} MiB to sync; `
          + `rolls ${rollsMetric}, adoptions ${adoptions}`);
        const [latency] = await measureLatency(latencyEnv, [{ label: `operator (${arm.label}), selected ConfigMap changes`, key: HASH, apps }], sc.bytes) as [LatencyResult];
        await queueIdle(op, 30_000);

        let churn: ChurnResult | undefined;
        let memoryAfterChurn: OperatorMemory | undefined;
        if (sc.churn > 0 && unselected > 0) {
          const picks = Array.from({ length: Math.min(sc.churn, unselected) }, (_, i) => Math.floor((i * unselected) / Math.min(sc.churn, unselected)));
          const cb = await apiserverStill(env);
          const read0 = op.proc.stat()?.readBytes ?? NaN;
          const dec0 = await op.metricBy('config_reload_decisions_total', 'action');
          const rolls0 = await op.metric('config_reload_rolls_total');
          const tw = performance.now();
          await pool(picks, ctx.settings.concurrency, async (j) => {
            const { namespace, name } = otherConfigMap(j, perNamespace);
            await admin.requestRetry('PATCH', `/api/v1/namespaces/${namespace}/configmaps/${name}`, JSON.stringify({ data: { [DATA_KEY]: payload(sc.bytes) } }), 'application/merge-patch+json');
          });
          const writeSeconds = round1((performance.now() - tw) / 1000);
          const ca = await apiserverStill(env);
          await queueIdle(op, 30_000);
          const read1 = op.proc.stat()?.readBytes ?? NaN;
          const decisions = await op.metricBy('config_reload_decisions_total', 'action');
          for (const [k, v] of Object.entries(dec0)) decisions[k] = (decisions[k] ?? 0) - v;
          for (const k of Object.keys(decisions)) if (decisions[k] === 0) delete decisions[k];
          memoryAfterChurn = await op.memory();
          churn = {
            changes: picks.length, writeSeconds, readBytes: read1 - read0,
            apiserverWatchEvents: ca.configMapWatchEvents - cb.configMapWatchEvents, apiserverWatchEventBytes: ca.configMapWatchEventBytes - cb.configMapWatchEventBytes,
            decisions, rolls: (await op.metric('config_reload_rolls_total')) - rolls0,
          };
          ctx.log(`  ${arm.label} #${round}: churn of ${picks.length} unselected ConfigMaps: operator read ${mib(churn.readBytes)} MiB, `
            + `apiserver sent ${churn.apiserverWatchEvents} ConfigMap events (${mib(churn.apiserverWatchEventBytes)} MiB, every watcher), decisions ${JSON.stringify(decisions)}`);
        }
        const readBytesAtEnd = op.proc.stat()?.readBytes ?? NaN;
        await stopOp(env, op);
        w.to = Date.now();
        w.changes = sc.samples + sc.warmup + (churn?.changes ?? 0);
        const after = await apiserverFigures(env);
        runs.push({
          arm: arm.id, label: arm.label, round, args: arm.args, bootMs: op.bootMs, syncedMs: Math.round(op.syncedMs), stored,
          procRssAtSyncBytes: atSync?.rssBytes ?? NaN, memoryAtSync, memorySettled, memoryAfterChurn,
          readBytesAtSync: atSync?.readBytes ?? NaN, readBytesAtEnd, apiserver: diff(before, after),
          rollsMetric, adoptions, latency, churn, load: load.stop(),
        });
      }
    }

    const requests = await readAudit(env.cl.auditLog);
    const result: ScopingResult = {
      scenario: sc.name, kind: 'scoping', total: sc.total, selected: sc.selected, configMapBytes: sc.bytes,
      selector: `${SCOPING_LABEL}=${SCOPING_VALUE}`, namespaces: { selected: NS, others, perNamespace },
      createSeconds, quietSeconds, calibration,
      runs: runs.map((r, i) => {
        const w = windows[i] as Window;
        return { ...r, configMapRequests: configMapRequests(requests, w), api: countByVerb(requests, OPERATOR_USER, w) };
      }),
      operatorProblems: env.problems,
    };
    for (const r of result.runs) {
      ctx.log(`  ${r.label} #${r.round}: configmaps ${r.configMapRequests.map((g) => `${g.verb} ×${g.count} [${g.namespace || 'all namespaces'}${g.labelSelector ? `, ${g.labelSelector}` : ''}]`).join(', ')}; `
        + `LIST bytes (apiserver) ${mib(r.apiserver.listConfigMapsBytes)} MiB`);
    }
    return result;
  });
}
