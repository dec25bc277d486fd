// summary.md: the helm-secrets section (helm release Secrets excluded, listed, absent).
import { mib } from '../lib/stats.ts';
import type { HelmResult } from '../scenarios/helm-secrets.ts';
import { fmt, kib, mibText, ok, signed, size } from './format.ts';

export function renderHelm(results: readonly HelmResult[]): string[] {
  const L: string[] = [];
  L.push('## Helm release Secrets', '');
  for (const r of results) {
    const ordinary = r.arms[0]?.latency;
    L.push(`**${r.scenario}**: ${r.helmSecrets.toLocaleString('en-US')} Secrets of type \`helm.sh/release.v1\` with ${kib(r.helmSecretBytes)} of data each `
      + `(${fmt(mib(r.helmSecrets * r.helmSecretBytes), 0)} MiB; base64 in the API, 4/3 of that in JSON), beside ${r.pairs.configMaps} ConfigMap and ${r.pairs.secrets} Secret pairs of 1 KiB (opted in, already adopted). `
      + `Created in ${r.helmCreateSeconds} s, deleted in ${r.helmDeleteSeconds} s. The operator is run ${r.arms.length} times in one cluster, with \`--debounce 0\`: `
      + 'without the helm Secrets, with them (its default excludes them: every secrets LIST and WATCH carries the field selector '
      + `\`${r.expectedSelector}\`), with them listed (\`--exclude-secret-types ""\`, the control), with them excluded again, and after they were deleted. `
      + `Latency: ${ordinary?.summary.n ?? 0} changes of an ordinary Secret per run.`, '');
    L.push('RSS and heap from the operator\'s /metrics at sync and once idle (before the latency samples); peak = VmHWM. "Read" = bytes the process read through read() from spawn '
      + '(rchar of /proc/<pid>/io: its apiserver traffic as received, TLS and gzip included, plus module loading and /proc reads), the same for every run but the volume of Secrets listed. '
      + 'Apiserver LIST secrets and Secret watch events: the apiserver\'s own counters (apiserver_response_sizes: pages and bytes as sent, gzip above 128 KiB; apiserver_watch_events_sizes) over the run, to every client: the operator is the only one that lists Secrets then; the watch events include the control plane\'s own Secret watches (the apiserver\'s own informer and the garbage collector\'s), which see the Secret changes of the latency samples.', '');
    L.push('| run | helm Secrets in cluster | Secrets in the operator\'s store | synced ms | RSS at sync / idle | peak RSS | heap at sync / idle | read to sync / whole run | apiserver: LIST secrets pages (bytes sent) / Secret watch events (bytes) | secrets LIST / WATCH requests of the operator (fieldSelector) | Secret change → template p50 / p95 / p99 ms |');
    L.push('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const a of r.arms) {
      const reqs = a.secretRequests.map((q) => `${q.verb} ×${q.count}: ${q.fieldSelector ? `\`${q.fieldSelector}\`` : '**none**'}`).join('; ') || '—';
      const excluded = !a.args.includes('--exclude-secret-types');
      const verdict = excluded ? ok(a.secretRequests.length > 0 && a.secretRequests.every((q) => q.fieldSelector.split(',').includes(r.expectedSelector))) : '';
      const l = a.latency.summary;
      L.push(`| ${a.label} | ${a.helmSecrets.toLocaleString('en-US')} | ${a.stored['Secret'] ?? '?'} | ${a.syncedMs} | `
        + `${mibText(a.memoryAtSync.rssBytes)} / ${mibText(a.memorySettled.rssBytes)} | ${mibText(a.memorySettled.peakRssBytes)} | `
        + `${mibText(a.memoryAtSync.heapUsedBytes)} / ${mibText(a.memorySettled.heapUsedBytes)} | ${mibText(a.readBytesAtSync)} / ${mibText(a.readBytesAtEnd)} | `
        + `${a.apiserver.listSecretsRequests} (${size(a.apiserver.listSecretsBytes)}) / ${a.apiserver.secretWatchEvents} (${size(a.apiserver.secretWatchEventBytes)}) | `
        + `${reqs} ${verdict} | ${fmt(l.p50, 1)} / ${fmt(l.p95, 1)} / ${fmt(l.p99, 1)}${a.latency.timeouts ? ` (${a.latency.timeouts} timeouts)` : ''} |`);
    }
    const none = r.arms.filter((a) => a.helmSecrets === 0);
    const excl = r.arms.filter((a) => a.helmSecrets > 0 && !a.args.includes('--exclude-secret-types'));
    const listed = r.arms.filter((a) => a.args.includes('--exclude-secret-types'));
    const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / (xs.length || 1);
    if (none.length && excl.length && listed.length) {
      const d = (f: (a: HelmResult['arms'][number]) => number) => ({
        excl: mean(excl.map(f)) - mean(none.map(f)), listed: mean(listed.map(f)) - mean(none.map(f)),
      });
      const rss = d((a) => a.memorySettled.rssBytes);
      const peak = d((a) => a.memorySettled.peakRssBytes);
      const read = d((a) => a.readBytesAtSync);
      const lists = d((a) => a.apiserver.listSecretsBytes);
      L.push('', 'Against the runs without helm Secrets (means of each kind of run): '
        + `**excluded (default): RSS idle ${signed(rss.excl)}, peak RSS ${signed(peak.excl)}, bytes read to sync ${signed(read.excl)}, LIST secrets bytes sent by the apiserver ${signed(lists.excl)}**; `
        + `listed (the control): RSS idle ${signed(rss.listed)}, peak RSS ${signed(peak.listed)}, bytes read to sync ${signed(read.listed)}, LIST secrets bytes ${signed(lists.listed)}.`);
    }
    L.push('');
  }
  return L;
}
