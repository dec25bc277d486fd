// summary.md: the scoping section (the operator unscoped, by label selector and by namespace,
// on the same objects), and its comparison with the unscoped runs.
import { mib } from '../lib/stats.ts';
import { type ArmId, ARMS, type ScopingResult, type ScopingRun } from '../scenarios/scoping.ts';

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
