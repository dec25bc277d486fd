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
import { type AuditRequest, readAudit, type Window } from './audit.ts';
import { OPERATOR_USER } from './cluster.ts';
import { pool } from './kube.ts';
import { type LoadReport, watchLoad } from './load.ts';
import { configMap, DATA_KEY, type Data, deployment, ENABLED, HASH, NS, payload, podSpec } from './objects.ts';
import type { OperatorMemory } from './procs.ts';
import {
  type Ctx, type Env, type LatencyResult, measureLatency, openWindow, queueIdle, startOp, stopOp, withCluster, settledMemory, untilStill,
} from './scenarios.ts';
import { mib } from './stats.ts';
import { until } from './tracker.ts';

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

type ArmId = 'unscoped' | 'selector' | 'namespace';

const ARMS: ReadonlyArray<{ id: ArmId; label: string; args: string[] }> = [
  { id: 'unscoped', label: 'unscoped', args: [] },
  { id: 'selector', label: `--configmap-selector ${SCOPING_LABEL}=${SCOPING_VALUE}`, args: ['--configmap-selector', `${SCOPING_LABEL}=${SCOPING_VALUE}`] },
  { id: 'namespace', label: `--namespace ${NS}`, args: ['--namespace', NS] },
];

/** The apiserver's own counters (its /metrics), to every client. */
export interface ApiserverFigures {
  /** LIST configmaps responses: count, and bytes written (apiserver_response_sizes: after gzip when the client accepts it). */
  listConfigMapsRequests: number;
  listConfigMapsBytes: number;
  listDeploymentsRequests: number;
  listDeploymentsBytes: number;
  /** ConfigMap watch events sent, to every watcher (apiserver_watch_events_sizes, encoded size). */
  configMapWatchEvents: number;
  configMapWatchEventBytes: number;
}

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

const round1 = (x: number) => Math.round(x * 10) / 10;

async function apiserverFigures(env: Env): Promise<ApiserverFigures> {
  const res = await env.cl.admin.requestRetry<unknown>('GET', '/metrics');
  const text = typeof res.body === 'string' ? res.body : '';
  const sum = (metric: string, match: (labels: string) => boolean): number => {
    let total = 0;
    for (const m of text.matchAll(new RegExp(`^${metric}\\{([^}]*)\\} ([0-9.e+-]+)$`, 'gm'))) {
      if (match(m[1] ?? '')) total += Number(m[2]);
    }
    return total;
  };
  const list = (resource: string) => (l: string) => l.includes(`resource="${resource}"`) && l.includes('verb="LIST"');
  const cmEvents = (l: string) => l.includes('kind="ConfigMap"') || l.includes('resource="configmaps"');
  return {
    listConfigMapsRequests: sum('apiserver_response_sizes_count', list('configmaps')),
    listConfigMapsBytes: sum('apiserver_response_sizes_sum', list('configmaps')),
    listDeploymentsRequests: sum('apiserver_response_sizes_count', list('deployments')),
    listDeploymentsBytes: sum('apiserver_response_sizes_sum', list('deployments')),
    configMapWatchEvents: sum('apiserver_watch_events_sizes_count', cmEvents),
    configMapWatchEventBytes: sum('apiserver_watch_events_sizes_sum', cmEvents),
  };
}

function diff(a: ApiserverFigures, b: ApiserverFigures): ApiserverFigures {
  return Object.fromEntries(Object.keys(a).map((k) => [k, b[k as keyof ApiserverFigures] - a[k as keyof ApiserverFigures]])) as unknown as ApiserverFigures;
}

/** Waits until the apiserver's ConfigMap counters stand still for 2 s (events of earlier writes delivered). */
function apiserverStill(env: Env): Promise<ApiserverFigures> {
  return untilStill(() => apiserverFigures(env), (a, b) => a.configMapWatchEvents === b.configMapWatchEvents && a.listConfigMapsRequests === b.listConfigMapsRequests);
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

function countsIn(requests: readonly AuditRequest[], w: Window): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of requests) {
    if (r.user !== OPERATOR_USER || r.at < w.from || r.at > w.to) continue;
    const k = `${r.verb} ${r.resource}`;
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
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
        const memoryAtSync = await op.memory();
        const synced = await op.proc.waitFor('"caches synced"', (l) => l.message === 'caches synced', 1).catch(() => undefined);
        const stored: Record<string, number> = {};
        for (const k of ['ConfigMap', 'Secret', 'workloads']) {
          const v = synced?.line[k];
          if (typeof v === 'number') stored[k] = v;
        }
        await queueIdle(op, 60_000);
        const memorySettled = await settledMemory(op);
        const rollsMetric = await op.metric('config_reload_rolls_total');
        const adoptions = await op.metric('config_reload_adoptions_total');
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
        return { ...r, configMapRequests: configMapRequests(requests, w), api: countsIn(requests, w) };
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

// ---- summary.md ----------------------------------------------------------------------------

const fmt = (x: number | undefined, digits = 0) => (typeof x !== 'number' || !Number.isFinite(x) ? '—' : x.toFixed(digits));
const mibText = (bytes: number | undefined, digits = 1) => `${fmt(mib(bytes ?? NaN), digits)} MiB`;
/** Bytes: KiB below 1 MiB (a scoped run reads next to nothing), else MiB. */
const bytesText = (bytes: number | undefined) => {
  if (typeof bytes !== 'number' || !Number.isFinite(bytes)) return '—';
  return Math.abs(bytes) < 1024 * 1024 ? `${fmt(bytes / 1024, 0)} KiB` : `${fmt(bytes / 1024 / 1024, 1)} MiB`;
};
const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

export function renderScoping(results: readonly ScopingResult[]): string[] {
  const L: string[] = [];
  if (!results.length) return L;
  L.push('## Scoping at the watch', '');
  for (const r of results) {
    const unselected = r.total - r.selected;
    const c = r.calibration;
    L.push(`**${r.scenario}**: ${r.total.toLocaleString('en-US')} ConfigMaps of ${Math.round(r.configMapBytes / 1024)} KiB (random data; ${fmt(mib(r.total * r.configMapBytes), 0)} MiB in all). `
      + `${r.selected.toLocaleString('en-US')} of them carry the label \`${r.selector}\`, live in namespace \`${r.namespaces.selected}\` and are each consumed by one opted-in Deployment `
      + `(replicas 0, created already adopted: every start is a restart); the other ${unselected.toLocaleString('en-US')} carry no label, are consumed by nothing, and live in `
      + `${r.namespaces.others} other namespaces (${r.namespaces.perNamespace.toLocaleString('en-US')} each). Created in ${r.createSeconds} s. `
      + 'The operator runs on these same objects, in one cluster, with `--debounce 0`, in rounds of three: unscoped, '
      + `\`--configmap-selector ${r.selector}\`, and \`--namespace ${r.namespaces.selected}\`.`, '');
    L.push('RSS at sync: VmRSS read from /proc/<pid>/status by the harness the moment "caches synced" arrives; idle: the operator\'s /metrics once its queue is idle (before the latency samples); peak = VmHWM. '
      + '**LIST bytes**: what `apiserver_response_sizes` (LIST, configmaps) grew by over the run — the bytes the apiserver wrote for the LIST responses, gzip-compressed as the operator\'s client accepts; '
      + 'no other client lists ConfigMaps during a run, and the audit log gives the operator\'s configmaps requests beside it. '
      + `Checked by the harness: a LIST of every ConfigMap received ${mibText(c.gzipBytes)} with gzip (apiserver counted ${mibText(c.gzipApiserverBytes)}) `
      + `and ${mibText(c.plainBytes)} plain (counted ${mibText(c.plainApiserverBytes)}). `
      + '**Read**: bytes the process read through read() (rchar of /proc/<pid>/io) from spawn to sync: everything it received, TLS and gzip included (Deployments too, and module loading: the same in every run). '
      + `Churn: ${r.runs[0]?.churn?.changes ?? 0} unselected ConfigMaps rewritten (same size) at the end of each run; what the operator read meanwhile, and the ConfigMap watch events the apiserver sent to every watcher (the garbage collector\'s metadata watch included). `
      + `Latency: ${r.runs[0]?.latency.summary.n ?? 0} changes of a selected ConfigMap per run, write acknowledged → pod-template annotation observed changed.`, '');
    L.push('| run | ConfigMaps in store | synced ms | RSS at sync (/proc) | RSS idle | peak RSS | heap at sync | LIST configmaps: requests / bytes (apiserver) | read to sync (rchar) | configmaps LIST / WATCH of the operator (audit) | churn: operator read / decisions | change → template p50 / p95 / p99 ms | rolls at start | load avg (kube-apiservers) |');
    L.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const x of r.runs) {
      const reqs = x.configMapRequests.map((g) => `${g.verb} ×${g.count} (${g.namespace ? `\`${g.namespace}\`` : 'all'}${g.labelSelector ? `, \`${g.labelSelector}\`` : ''})`).join('; ') || '—';
      const ch = x.churn ? `${bytesText(x.churn.readBytes)} / ${Object.entries(x.churn.decisions).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}` : '—';
      const l = x.latency.summary;
      L.push(`| ${x.label} #${x.round} | ${x.stored['ConfigMap'] ?? '?'} | ${x.syncedMs} | ${mibText(x.procRssAtSyncBytes)} | ${mibText(x.memorySettled.rssBytes)} | ${mibText(x.memorySettled.peakRssBytes)} | `
        + `${mibText(x.memoryAtSync.heapUsedBytes)} | ${x.apiserver.listConfigMapsRequests} / ${bytesText(x.apiserver.listConfigMapsBytes)} | ${bytesText(x.readBytesAtSync)} | ${reqs} | ${ch} | `
        + `${fmt(l.p50, 1)} / ${fmt(l.p95, 1)} / ${fmt(l.p99, 1)}${x.latency.timeouts ? ` (${x.latency.timeouts} timeouts)` : ''} | ${x.rollsMetric} | ${x.load.loadAvgMean} (${x.load.apiServersMax}) |`);
    }
    const by = (arm: ArmId) => r.runs.filter((x) => x.arm === arm);
    const base = by('unscoped');
    if (base.length) {
      L.push('', '**Against the unscoped runs**', '');
      L.push('Each figure is the mean over the runs of that kind; in brackets, the difference from the unscoped runs\' mean and the ratio to it.', '');
      L.push('| run | synced ms | RSS at sync (/proc) | RSS idle | peak RSS | LIST configmaps bytes (apiserver) | read to sync (rchar) | churn: operator read | change → template p50 / p99 ms |');
      L.push('|---|---|---|---|---|---|---|---|---|');
      const row = (arm: ArmId) => {
        const xs = by(arm);
        if (!xs.length) return;
        const m = (f: (x: ScopingRun) => number) => mean(xs.map(f));
        const b = (f: (x: ScopingRun) => number) => mean(base.map(f));
        const rel = (f: (x: ScopingRun) => number, text: (v: number) => string) => {
          const v = m(f);
          const d = v - b(f);
          return arm === 'unscoped' ? text(v) : `${text(v)} (${d < 0 ? '−' : '+'}${text(Math.abs(d))}, ${fmt((v / b(f)) * 100, 0)}%)`;
        };
        L.push(`| ${xs[0]?.label} (${xs.length} run${xs.length > 1 ? 's' : ''}) | ${rel((x) => x.syncedMs, (v) => fmt(v))} | ${rel((x) => x.procRssAtSyncBytes, (v) => mibText(v))} | `
          + `${rel((x) => x.memorySettled.rssBytes, (v) => mibText(v))} | ${rel((x) => x.memorySettled.peakRssBytes, (v) => mibText(v))} | `
          + `${rel((x) => x.apiserver.listConfigMapsBytes, bytesText)} | ${rel((x) => x.readBytesAtSync, bytesText)} | `
          + `${xs.every((x) => x.churn) ? rel((x) => x.churn?.readBytes ?? NaN, bytesText) : '—'} | `
          + `${fmt(m((x) => x.latency.summary.p50), 1)} / ${fmt(m((x) => x.latency.summary.p99), 1)} |`);
      };
      for (const arm of ARMS) row(arm.id);
    }
    L.push('');
  }
  return L;
}
