// summary.md and plot.svg from the scenario results: the table of figures against the targets,
// and latency and memory against scale and against ConfigMap size (a hand-written SVG).
import type { LoadReport } from './load.ts';
import { IMAGE_ENV, IMAGE_NODE_FLAGS } from './operator.ts';
import type { BurstKResult, HelmResult, ScaleResult, ScenarioResult, SharedResult, StartupResult, WavesResult } from './scenarios.ts';
import { renderScoping, type ScopingResult } from './scoping.ts';
import { mib } from './stats.ts';
import { DURING_TARGET, type ContentionResult } from './contention.ts';
import { renderContention, renderPeersHeader, renderScalePeers } from './report-systems.ts';
import type { PeerScaleRun } from './peer-scale.ts';

export interface RunMeta {
  command: string;
  preset: string;
  startedAt: string;
  durationSeconds: number;
  machine: { nproc: number; memoryGiB: number; cpu: string; kernel: string; node: string; k8s: string };
  operator: { commit: string; dirty: string[]; runtime: string };
  settings: Record<string, unknown>;
  scenarioSeconds: Record<string, number>;
  /** Load average and concurrent control planes per scenario (absent in older meta.json). */
  load?: Record<string, LoadReport>;
  failures: Record<string, string>;
  rbac: string;
  /** The peers run beside the operator (--peer), with their command lines (absent in older meta.json). */
  peers?: Array<{ name: string; binary: string; command: string; notes: string[] }>;
}

const TARGETS = {
  p99Ratio: 1.2,
  rssMiB: 100,
  syncedMs: 5000,
};

const fmt = (x: number | null | undefined, digits = 0) => (typeof x !== 'number' || !Number.isFinite(x) ? '—' : x.toFixed(digits));
const kib = (bytes: number) => `${Math.round(bytes / 1024)} KiB`;
const ok = (pass: boolean) => (pass ? '✅' : '❌');
const share = (r: ScaleResult) => r.secretShare ?? 0;
const scaleLabel = (r: ScaleResult) => `${r.n.toLocaleString('en-US')} × ${kib(r.configMapBytes)}${share(r) > 0 ? `, ${share(r) === 0.5 ? 'half' : `${Math.round(share(r) * 100)}%`} Secrets` : ''}`;
const mibText = (bytes: number | undefined, digits = 1) => `${fmt(mib(bytes ?? NaN), digits)} MiB`;
/** Bytes: KiB below 1 MiB, else MiB. */
const size = (bytes: number) => (!Number.isFinite(bytes) ? '—' : bytes < 1024 * 1024 ? `${fmt(bytes / 1024, 0)} KiB` : `${fmt(bytes / 1024 / 1024, 1)} MiB`);
/** A difference in bytes: KiB below 1 MiB, else MiB, with its sign. */
const signed = (bytes: number) => {
  if (!Number.isFinite(bytes)) return '—';
  const sign = bytes < 0 ? '−' : '+';
  const abs = Math.abs(bytes);
  if (abs < 512) return '±0 KiB';
  return abs < 1024 * 1024 ? `${sign}${fmt(abs / 1024, 0)} KiB` : `${sign}${fmt(abs / 1024 / 1024, 1)} MiB`;
};

function restart(r: ScaleResult): StartupResult | undefined {
  return r.startups.find((s) => s.kind === 'restart');
}

export function renderSummary(meta: RunMeta, results: ScenarioResult[]): string {
  const scale = results.filter((r): r is ScaleResult => r.kind === 'scale').sort((a, b) => a.n - b.n || a.configMapBytes - b.configMapBytes || share(a) - share(b));
  const helm = results.filter((r): r is HelmResult => r.kind === 'helm-secrets');
  const burstK = results.filter((r): r is BurstKResult => r.kind === 'burst-k');
  const shared = results.filter((r): r is SharedResult => r.kind === 'burst-shared');
  const waves = results.filter((r): r is WavesResult => r.kind === 'waves');
  const L: string[] = [];
  const m = meta.machine;
  L.push(`# Benchmark results (${meta.preset})`, '');
  L.push(`Command: \`${meta.command}\` — started ${meta.startedAt}, took ${(meta.durationSeconds / 60).toFixed(1)} min.`, '');
  L.push(`Machine: ${m.nproc} cores (${m.cpu}), ${m.memoryGiB} GiB, Linux ${m.kernel}; Node ${m.node}; Kubernetes ${m.k8s} `
    + '(etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok on loopback, all on the same cores as the operator and the harness).', '');
  L.push(`Operator: commit ${meta.operator.commit}${meta.operator.dirty.length ? ` plus uncommitted changes in ${meta.operator.dirty.length} file(s) of src/ (the working tree was snapshotted at start)` : ''}; `
    + `run as its own process (${meta.operator.runtime === 'dist' ? `\`${Object.entries(IMAGE_ENV).map(([k, v]) => `${k}=${v} `).join('')}node ${IMAGE_NODE_FLAGS.join(' ')} dist/main.js\`, compiled from the snapshot, as the image runs it` : '`node --import tsx src/main.ts`'}), `
    + `${meta.settings.nodeOptions ? `NODE_OPTIONS=\`${String(meta.settings.nodeOptions)}\`, ` : ''}log level ${String(meta.settings.logLevel)}, its own identity (ServiceAccount token; RBAC from ${meta.rbac}).`, '');
  L.push('Deployments have `replicas: 0`: with pods, kwok and the scheduler would be what is measured; the measured point is the pod-template '
    + 'annotation change observed on the Deployment through a watch (the Deployment controller still creates a new ReplicaSet per roll).', '');
  L.push(...renderPeersHeader(meta.peers));
  if (Object.keys(meta.failures).length) {
    L.push('**Failed scenarios:**', '');
    for (const [k, v] of Object.entries(meta.failures)) L.push(`- ${k}: ${v.split('\n')[0]}`);
    L.push('');
  }

  if (scale.length) {
    L.push('## Reaction latency', '');
    L.push('ConfigMap write acknowledged (its response\'s status line received) → Deployment pod-template annotation observed changed (arrival of the watch event), ms. '
      + `Open-loop: ${String(meta.settings.samples)} samples per arm (+${String(meta.settings.warmup)} warm-up, discarded) at ${String(meta.settings.rate)}/s in all, Poisson arrivals, `
      + 'each on a Deployment not already in flight. The limit: `bench/baseline-watcher.ts` (watch ConfigMaps, merge-patch the consumer at once; no cache, index, queue or debounce; '
      + 'same client library and Node), running at the same time on its own ' + String(scale[0]?.baselinePairs ?? '') + ' pairs that are not opted in, '
      + 'its samples interleaved at random with the operator\'s: same load, same moments.', '');
    L.push('| scenario | operator `--debounce 0` p50 / p95 / p99 | baseline p50 / p95 / p99 | p99 ratio (target ≤ 1.2) | operator default debounce p50 / p95 / p99 | baseline (same phase) p99 | timeouts |');
    L.push('|---|---|---|---|---|---|---|');
    for (const r of scale) {
      const a = r.latency.debounce0.operator.summary;
      const b = r.latency.debounce0.baseline.summary;
      const c = r.latency.default.operator.summary;
      const d = r.latency.default.baseline.summary;
      const to = [r.latency.debounce0.operator, r.latency.debounce0.baseline, r.latency.default.operator, r.latency.default.baseline].reduce((n, x) => n + x.timeouts, 0);
      L.push(`| ${scaleLabel(r)} | ${fmt(a.p50, 1)} / ${fmt(a.p95, 1)} / ${fmt(a.p99, 1)} | ${fmt(b.p50, 1)} / ${fmt(b.p95, 1)} / ${fmt(b.p99, 1)} | `
        + `${fmt(r.ratioP99.debounce0, 2)}× ${ok(r.ratioP99.debounce0 <= TARGETS.p99Ratio)} | ${fmt(c.p50, 0)} / ${fmt(c.p95, 0)} / ${fmt(c.p99, 0)} | ${fmt(d.p99, 1)} | ${to} |`);
    }
    L.push('', 'The default debounce (1 s) is a deliberate delay so that bursts coalesce into one roll: its figures are the window plus the same path; the ratio target applies to `--debounce 0`. '
      + 'p99 of a few hundred samples on two shared cores is noisy: compare ratios across runs before concluding from one.', '');
    const mixed = scale.filter((r) => r.latency.debounce0.operator.byKind);
    if (mixed.length) {
      L.push('Scenarios with Secrets: the operator\'s samples by the kind of object changed (a Secret change is a merge patch of base64 data of the same size). '
        + 'The baseline watcher watches ConfigMaps only: its pairs are ConfigMaps in every scenario.', '');
      L.push('| scenario | `--debounce 0`: ConfigMap p50 / p95 / p99 (n) | `--debounce 0`: Secret p50 / p95 / p99 (n) | default debounce: ConfigMap p50 / p99 | default debounce: Secret p50 / p99 |');
      L.push('|---|---|---|---|---|');
      for (const r of mixed) {
        const k0 = r.latency.debounce0.operator.byKind ?? {};
        const k1 = r.latency.default.operator.byKind ?? {};
        const three = (x: { p50: number; p95: number; p99: number; n: number } | undefined) => (x ? `${fmt(x.p50, 1)} / ${fmt(x.p95, 1)} / ${fmt(x.p99, 1)} (${x.n})` : '—');
        const two = (x: { p50: number; p99: number } | undefined) => (x ? `${fmt(x.p50, 0)} / ${fmt(x.p99, 0)}` : '—');
        L.push(`| ${scaleLabel(r)} | ${three(k0['ConfigMap'])} | ${three(k0['Secret'])} | ${two(k1['ConfigMap'])} | ${two(k1['Secret'])} |`);
      }
      L.push('');
    }

    L.push('## Memory (operator process, from its /metrics)', '');
    L.push('RSS = process_resident_memory_bytes, heap = nodejs_heap_size_used_bytes; peak = VmHWM from /proc. "After sync": scraped the moment "caches synced" is logged (restart over adopted Deployments); "after storm": every ConfigMap rewritten and every Deployment rolled.', '');
    L.push('"Live heap" (profiled scenarios only): total of a heap snapshot after sync (taken after a full GC, so garbage excluded) — what the operator really retains. '
      + 'Baseline watcher RSS: the minimal watcher, same Node and client library — the floor any operator built on them starts from.', '');
    L.push('| scenario | RSS after sync | heap after sync | RSS after storm | heap after storm | peak RSS | live heap (snapshot) | raw ConfigMap/Secret data | baseline watcher RSS | target RSS ≤ 100 MiB (10k × 64 KiB) |');
    L.push('|---|---|---|---|---|---|---|---|---|---|');
    for (const r of scale) {
      const s = restart(r);
      const st = r.storm?.memoryAfter;
      const peak = Math.max(...r.startups.map((x) => x.memorySettled.peakRssBytes), st?.peakRssBytes ?? 0);
      const worst = Math.max(s?.memoryAtSync.rssBytes ?? 0, st?.rssBytes ?? 0, s?.memorySettled.rssBytes ?? 0);
      const targeted = r.n >= 10_000 && r.configMapBytes >= 64 * 1024;
      L.push(`| ${scaleLabel(r)} | ${fmt(mib(s?.memoryAtSync.rssBytes ?? NaN), 1)} MiB | ${fmt(mib(s?.memoryAtSync.heapUsedBytes ?? NaN), 1)} MiB | `
        + `${st ? `${fmt(mib(st.rssBytes), 1)} MiB` : '—'} | ${st ? `${fmt(mib(st.heapUsedBytes), 1)} MiB` : '—'} | ${fmt(mib(peak), 1)} MiB | `
        + `${r.profile?.heapAfterSync ? `${r.profile.heapAfterSync.totalMiB} MiB` : '—'} | `
        + `${fmt(mib(r.n * r.configMapBytes), 0)} MiB | ${fmt(mib(r.baselineRssBytes), 1)} MiB | ${targeted ? `${ok(mib(worst) <= TARGETS.rssMiB)} (${fmt(mib(worst), 0)} MiB)` : ''} |`);
    }
    L.push('');

    L.push('## Start-up', '');
    L.push('Spawn → "caches synced" (every reflector listed: N ConfigMaps, or N/2 ConfigMaps and N/2 Secrets, + N Deployments; StatefulSets and DaemonSets: none). Boot = spawn → first log line (Node start and module loading; with `--runtime tsx` also transpiling). '
      + 'Rolls at start-up: the operator\'s `config_reload_rolls_total`, and template changes the benchmark\'s own Deployment watch saw (both must be 0).', '');
    L.push('List floor: the harness itself lists every ConfigMap and Deployment in pages of 500 and parses them (no other work), uncompressed / with gzip as client-node asks: the least a list-based sync can take here.', '');
    L.push('| scenario | start | boot ms | synced ms | list floor ms (plain / gzip) | target ≤ 5 s at 20k objects | adoptions | all adopted after | rolls (metric / observed) |');
    L.push('|---|---|---|---|---|---|---|---|---|');
    for (const r of scale) {
      for (const s of r.startups) {
        const targeted = r.n >= 10_000;
        L.push(`| ${scaleLabel(r)} | ${s.label} | ${fmt(s.bootMs)} | ${fmt(s.syncedMs)} | ${r.listFloor ? `${r.listFloor.plainMs} / ${r.listFloor.gzipMs}` : '—'} | `
          + `${targeted ? `${ok(s.syncedMs <= TARGETS.syncedMs)}` : ''} | ${s.adoptions} | `
          + `${s.adoptAllMs === undefined ? '—' : `${(s.adoptAllMs / 1000).toFixed(1)} s`} | ${s.rollsMetric} / ${s.rollsObserved} ${ok(s.rollsMetric === 0 && s.rollsObserved === 0)} |`);
      }
    }
    L.push('');

    L.push('## API cost (apiserver audit log, operator identity only)', '');
    L.push('Requests by verb during each phase; "changes" are ConfigMap writes in the phase. Goal: one PATCH per affected Deployment, no LIST after start-up.', '');
    L.push('| scenario | phase | changes | requests by verb | PATCH per change | LISTs |');
    L.push('|---|---|---|---|---|---|');
    for (const r of scale) {
      for (const [phase, a] of Object.entries(r.api)) {
        const verbs = Object.entries(a.counts).map(([k, v]) => `${k}: ${v}`).join(', ') || '—';
        const per = a.changes > 0 ? (a.patches / a.changes).toFixed(2) : '—';
        L.push(`| ${scaleLabel(r)} | ${phase}${a.user.includes('baseline') ? ' (baseline identity)' : ''} | ${a.changes || '—'} | ${verbs} | ${per} | ${a.lists} |`);
      }
    }
    L.push('');

    const storms = scale.filter((r) => r.storm);
    if (storms.length) {
      L.push('## Change storm (default debounce)', '');
      L.push(`min(N, ${String(meta.settings.stormMax)}) ConfigMaps (about half of them Secrets where the scenario has Secrets) rewritten with new content (bounded pool of concurrent writes); time until each of their Deployments rolled. `
        + 'The operator\'s default global rate limit (50 keys/s, burst 500) sets the pace beyond 500 keys. Reconciles = decisions by action during the storm '
        + '("none": a reconcile that wrote nothing). Sockets: the operator\'s open sockets after the storm (/proc/<pid>/fd).', '');
      L.push('| scenario | changes | writes took | all rolled after | rolled | duplicate rolls | missed | reconciles (by action) | mean reconcile ms | operator CPU s | sockets after |');
      L.push('|---|---|---|---|---|---|---|---|---|---|---|');
      for (const r of storms) {
        const s = r.storm;
        if (!s) continue;
        const dec = Object.entries(s.decisions ?? {}).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ');
        L.push(`| ${scaleLabel(r)} | ${s.changes} | ${s.writeSeconds} s | ${s.allRolledSeconds} s | ${s.rolled} | ${s.duplicateRolls} | ${s.missed} | ${dec} | ${fmt(s.reconcileMeanMs, 1)} | ${s.operatorCpuSeconds} | ${fmt(s.memoryAfter.sockets)} |`);
      }
      L.push('');
    }
  }

  L.push(...renderScalePeers(scale, scaleLabel));

  const profiled = scale.filter((r) => r.profile);
  if (profiled.length) {
    L.push('## Profiles (separate profiled run: --cpu-prof, heap snapshots via SIGUSR2)', '');
    for (const r of profiled) {
      const p = r.profile;
      if (!p) continue;
      L.push(`**${scaleLabel(r)}** — synced in ${p.syncedMs} ms; files: ${p.files.map((f) => `\`${f}\``).join(', ')}`, '');
      for (const w of p.cpu) {
        if (w.window === 'whole run') continue;
        L.push(`CPU, ${w.window} (${(w.sampledMs / 1000).toFixed(1)} s sampled), self time by package/file: `
          + w.byPackage.slice(0, 8).map((x) => `${x.what} ${x.percent}%`).join(', '), '');
        L.push('Top functions: ' + w.byFunction.slice(0, 8).map((x) => `\`${x.what}\` ${x.percent}%`).join(', '), '');
      }
      for (const [label, h] of [['after sync', p.heapAfterSync], ['after storm', p.heapAfterStorm]] as const) {
        if (!h) continue;
        L.push(`Heap snapshot ${label} (live objects after a full GC): ${h.totalMiB} MiB. Largest by self size: `
          + h.rows.slice(0, 8).map((x) => `${x.what} ${x.selfMiB} MiB (${x.count})`).join('; '), '');
      }
    }
  }

  L.push(...renderContention(results.filter((r): r is ContentionResult => r.kind === 'mass-adoption' || r.kind === 'fan-out').sort((a, b) => b.kind.localeCompare(a.kind)), DURING_TARGET));
  if (helm.length) L.push(...renderHelm(helm));
  L.push(...renderScoping(results.filter((r): r is ScopingResult => r.kind === 'scoping')));

  if (burstK.length || shared.length) {
    L.push('## Bursts', '');
    for (const r of burstK) {
      L.push(`**${r.scenario}**: K = ${r.k} ConfigMaps of one Deployment written together (concurrently), ${r.phases[0]?.trials ?? 0} Deployments. Goal: one roll each.`, '');
      L.push('| debounce | rolls per Deployment (rolls: Deployments) | PATCHes | LISTs | last write → roll p50 / p99 ms |');
      L.push('|---|---|---|---|---|');
      for (const p of r.phases) {
        const one = Object.keys(p.rollsPerDeployment).every((k) => k === '1');
        const verdict = p.debounceMs === 0 ? '(no debounce: more than one roll is expected)' : ok(one);
        L.push(`| ${p.debounceMs ?? '?'} ms | ${JSON.stringify(p.rollsPerDeployment)} ${verdict} | ${p.patches} | ${p.lists} | ${fmt(p.latencyFromLastWrite.p50)} / ${fmt(p.latencyFromLastWrite.p99)} |`);
      }
      L.push('');
    }
    for (const r of shared) {
      L.push(`**${r.scenario}**: one ConfigMap consumed by M = ${r.m} Deployments, changed once per round. Goal: one PATCH per Deployment, no LIST.`, '');
      L.push('| debounce | rounds | rolled | duplicate rolls | PATCHes (per Deployment per round) | LISTs | write → roll p50 / p99 / last ms | mean reconcile ms |');
      L.push('|---|---|---|---|---|---|---|---|');
      for (const p of r.phases) {
        const per = p.patches / (p.rounds * p.consumers);
        L.push(`| ${p.debounceMs ?? '?'} ms | ${p.rounds} | ${p.rolled} | ${p.duplicateRolls} | ${p.patches} (${per.toFixed(2)}) ${ok(per === 1 && p.lists === 0)} | ${p.lists} | `
          + `${fmt(p.fanOut.p50)} / ${fmt(p.fanOut.p99)} / ${fmt(Math.max(...p.allRolledMs))} | ${fmt(p.reconcileMeanMs, 1)} |`);
      }
      L.push('');
    }
  }

  if (waves.length) {
    L.push('## Waves', '');
    for (const r of waves) {
      L.push(`**${r.scenario}**: one ConfigMap consumed by M = ${r.m} Deployments (replicas 0: a wave is healthy once the Deployment controller observed it), changed once per arm, \`--debounce 0\`. Goal: each rolls once; the price of waves is the canary's round trip.`, '');
      L.push('| arm | rolled | duplicate rolls | write → first roll ms | write → last roll ms |');
      L.push('|---|---|---|---|---|');
      for (const a of r.arms) L.push(`| ${a.label} | ${a.rolled} | ${a.duplicateRolls} ${ok(a.duplicateRolls === 0 && a.rolled === r.m)} | ${fmt(a.firstRolledMs)} | ${fmt(a.allRolledMs)} |`);
      L.push('');
    }
  }

  const problems = results.flatMap((r) => r.operatorProblems.map((p) => `${r.scenario}: ${p}`));
  if (problems.length) {
    L.push('## Warnings and errors logged by the processes under test', '', '```');
    L.push(...problems.slice(0, 40).map((p) => p.slice(0, 400)));
    L.push('```', '');
  }
  L.push('## Durations and machine load', '');
  L.push('Load average (1 min) sampled every 5 s; "kube-apiservers" counts control planes running at once (1 = the scenario\'s own; more means the machine was shared, e.g. with a test suite, and the timings of that scenario are pessimistic).', '');
  for (const [k, v] of Object.entries(meta.scenarioSeconds)) {
    const l = meta.load?.[k];
    L.push(`- ${k}: ${(v / 60).toFixed(1)} min${l ? `; load average mean ${l.loadAvgMean}, max ${l.loadAvgMax}; kube-apiservers at once: ${l.apiServersMax}${l.apiServersMax > 1 ? ' ⚠ shared machine' : ''}` : ''}`);
  }
  L.push('', 'Plot: [plot.svg](plot.svg). Per-scenario data (every latency sample, memory, audit counts): `<scenario>.json`.', '');
  return L.join('\n');
}

function renderHelm(results: readonly HelmResult[]): string[] {
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

// ---- SVG -----------------------------------------------------------------------------------

interface Series {
  name: string;
  color: string;
  dash?: string;
  points: Array<[number, number]>;
}

interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  logX: boolean;
  series: Series[];
  /** Optional horizontal target line. */
  target?: { y: number; label: string };
  xTicks: number[];
  xTickLabel(x: number): string;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function panelSvg(p: Panel, ox: number, oy: number, w: number, h: number): string {
  const padL = 58;
  const padR = 14;
  const padT = 28;
  const padB = 44;
  const pw = w - padL - padR;
  const ph = h - padT - padB;
  const xs = p.series.flatMap((s) => s.points.map(([x]) => x)).concat(p.xTicks);
  const ys = p.series.flatMap((s) => s.points.map(([, y]) => y)).concat(p.target ? [p.target.y] : []);
  const fx = (x: number) => (p.logX ? Math.log10(x) : x);
  const xMin = Math.min(...xs.map(fx));
  const xMax = Math.max(...xs.map(fx));
  const yMax = niceMax(Math.max(...ys, 0) * 1.05);
  const X = (x: number) => ox + padL + (xMax === xMin ? pw / 2 : ((fx(x) - xMin) / (xMax - xMin)) * pw);
  const Y = (y: number) => oy + padT + ph - (y / yMax) * ph;
  const out: string[] = [];
  out.push(`<text x="${ox + w / 2}" y="${oy + 16}" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`);
  out.push(`<rect x="${ox + padL}" y="${oy + padT}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  for (let i = 0; i <= 5; i++) {
    const y = (yMax / 5) * i;
    out.push(`<line x1="${ox + padL}" x2="${ox + padL + pw}" y1="${Y(y)}" y2="${Y(y)}" stroke="#eee"/>`);
    out.push(`<text x="${ox + padL - 6}" y="${Y(y) + 4}" text-anchor="end" font-size="11">${+y.toPrecision(3)}</text>`);
  }
  for (const t of p.xTicks) {
    out.push(`<line x1="${X(t)}" x2="${X(t)}" y1="${oy + padT + ph}" y2="${oy + padT + ph + 4}" stroke="#999"/>`);
    out.push(`<text x="${X(t)}" y="${oy + padT + ph + 17}" text-anchor="middle" font-size="11">${esc(p.xTickLabel(t))}</text>`);
  }
  out.push(`<text x="${ox + padL + pw / 2}" y="${oy + h - 8}" text-anchor="middle" font-size="12">${esc(p.xLabel)}</text>`);
  out.push(`<text transform="translate(${ox + 14},${oy + padT + ph / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(p.yLabel)}</text>`);
  if (p.target) {
    out.push(`<line x1="${ox + padL}" x2="${ox + padL + pw}" y1="${Y(p.target.y)}" y2="${Y(p.target.y)}" stroke="#c00" stroke-dasharray="2,3"/>`);
    out.push(`<text x="${ox + padL + pw - 4}" y="${Y(p.target.y) - 4}" text-anchor="end" font-size="10" fill="#c00">${esc(p.target.label)}</text>`);
  }
  p.series.forEach((s, i) => {
    const pts = [...s.points].sort((a, b) => a[0] - b[0]).filter(([, y]) => Number.isFinite(y));
    if (pts.length) {
      out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} points="${pts.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ')}"/>`);
      for (const [x, y] of pts) out.push(`<circle cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="3" fill="${s.color}"><title>${esc(`${s.name}: ${y}`)}</title></circle>`);
    }
    const ly = oy + padT + 8 + i * 14;
    out.push(`<line x1="${ox + padL + 8}" x2="${ox + padL + 26}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    out.push(`<text x="${ox + padL + 30}" y="${ly + 4}" font-size="11">${esc(s.name)}</text>`);
  });
  return out.join('\n');
}

const PEER_COLORS: Record<string, string> = { reloader: '#17becf', wave: '#8c564b' };

/** One series per peer (--peer) across the scale scenarios that ran it. */
function peerSeries(rs: readonly ScaleResult[], y: (p: PeerScaleRun) => number, what: string): Series[] {
  const names = [...new Set(rs.flatMap((r) => (r.peers ?? []).map((p) => p.system)))];
  return names.map((name) => ({
    name: `${name}, ${what}`, color: PEER_COLORS[name] ?? '#bcbd22', dash: '4,2',
    points: rs.flatMap((r) => (r.peers ?? []).filter((p) => p.system === name).map((p): [number, number] => [r.n, y(p)])),
  }));
}

export function renderPlot(results: ScenarioResult[]): string {
  const all = results.filter((r): r is ScaleResult => r.kind === 'scale');
  // ConfigMaps only; the scenarios with Secrets get series of their own.
  const scale = all.filter((r) => share(r) === 0);
  const withSecrets = all.filter((r) => share(r) > 0 && r.configMapBytes === 1024).sort((a, b) => a.n - b.n);
  const byN = scale.filter((r) => r.configMapBytes === 1024).sort((a, b) => a.n - b.n);
  const sizeN = Math.max(0, ...scale.filter((r) => r.configMapBytes !== 1024).map((r) => r.n));
  const bySize = scale.filter((r) => r.n === sizeN).sort((a, b) => a.configMapBytes - b.configMapBytes);
  const nTicks = byN.map((r) => r.n);
  const nLabel = (x: number) => (x >= 1000 ? `${x / 1000}k` : String(x));
  const mem = (rs: ScaleResult[], x: (r: ScaleResult) => number): Series[] => [
    { name: 'RSS after sync', color: '#1f77b4', points: rs.map((r) => [x(r), mib(restart(r)?.memoryAtSync.rssBytes ?? NaN)]) },
    { name: 'RSS after storm', color: '#1f77b4', dash: '6,3', points: rs.filter((r) => r.storm).map((r) => [x(r), mib(r.storm?.memoryAfter.rssBytes ?? NaN)]) },
    { name: 'heap used after sync', color: '#2ca02c', points: rs.map((r) => [x(r), mib(restart(r)?.memoryAtSync.heapUsedBytes ?? NaN)]) },
    { name: 'heap used after storm', color: '#2ca02c', dash: '6,3', points: rs.filter((r) => r.storm).map((r) => [x(r), mib(r.storm?.memoryAfter.heapUsedBytes ?? NaN)]) },
    { name: 'peak RSS', color: '#9467bd', dash: '2,2', points: rs.map((r) => [x(r), mib(Math.max(...r.startups.map((s) => s.memorySettled.peakRssBytes), r.storm?.memoryAfter.peakRssBytes ?? 0))]) },
  ];
  const panels: Panel[] = [];
  if (byN.length) {
    panels.push({
      title: 'Reaction latency vs N (1 KiB ConfigMaps)', xLabel: 'N Deployments (+ N ConfigMaps), log scale', yLabel: 'ms', logX: true, xTicks: nTicks, xTickLabel: nLabel,
      series: [
        { name: 'operator --debounce 0, p99', color: '#d62728', points: byN.map((r) => [r.n, r.latency.debounce0.operator.summary.p99]) },
        { name: 'operator --debounce 0, p50', color: '#d62728', dash: '6,3', points: byN.map((r) => [r.n, r.latency.debounce0.operator.summary.p50]) },
        { name: 'baseline watcher, p99', color: '#7f7f7f', points: byN.map((r) => [r.n, r.latency.debounce0.baseline.summary.p99]) },
        { name: 'baseline watcher, p50', color: '#7f7f7f', dash: '6,3', points: byN.map((r) => [r.n, r.latency.debounce0.baseline.summary.p50]) },
        ...(withSecrets.length ? [{ name: 'operator --debounce 0, p99, half Secrets', color: '#ff7f0e', points: withSecrets.map((r): [number, number] => [r.n, r.latency.debounce0.operator.summary.p99]) }] : []),
        ...peerSeries(byN, (p) => p.latency.peer.summary.p99, 'p99'),
      ],
    });
    panels.push({
      title: 'Operator memory vs N (1 KiB ConfigMaps)', xLabel: 'N Deployments (+ N ConfigMaps), log scale', yLabel: 'MiB', logX: true, xTicks: nTicks, xTickLabel: nLabel,
      series: [
        ...mem(byN, (r) => r.n),
        ...(withSecrets.length ? [{ name: 'RSS after sync, half Secrets', color: '#ff7f0e', points: withSecrets.map((r): [number, number] => [r.n, mib(restart(r)?.memoryAtSync.rssBytes ?? NaN)]) }] : []),
        ...peerSeries(byN, (p) => mib(p.memory.settledRssBytes), 'RSS after start-up'),
      ],
      target: { y: TARGETS.rssMiB, label: '100 MiB target' },
    });
  }
  if (bySize.length > 1) {
    panels.push({
      title: `Operator memory vs ConfigMap size (N = ${sizeN.toLocaleString('en-US')})`, xLabel: 'ConfigMap size (KiB)', yLabel: 'MiB', logX: false,
      xTicks: bySize.map((r) => r.configMapBytes / 1024), xTickLabel: (x) => String(x),
      series: mem(bySize, (r) => r.configMapBytes / 1024), target: { y: TARGETS.rssMiB, label: '100 MiB target' },
    });
    panels.push({
      title: `Reaction latency vs ConfigMap size (N = ${sizeN.toLocaleString('en-US')})`, xLabel: 'ConfigMap size (KiB)', yLabel: 'ms', logX: false,
      xTicks: bySize.map((r) => r.configMapBytes / 1024), xTickLabel: (x) => String(x),
      series: [
        { name: 'operator --debounce 0, p99', color: '#d62728', points: bySize.map((r) => [r.configMapBytes / 1024, r.latency.debounce0.operator.summary.p99]) },
        { name: 'baseline watcher, p99', color: '#7f7f7f', points: bySize.map((r) => [r.configMapBytes / 1024, r.latency.debounce0.baseline.summary.p99]) },
      ],
    });
  }
  // Changes while busy: p99 per system (x: the systems in order), against the baseline's in the same window.
  for (const r of results.filter((x): x is ContentionResult => x.kind === 'mass-adoption' || x.kind === 'fan-out')) {
    const names = r.systems.map((s) => s.system);
    if (!names.length) continue;
    panels.push({
      title: `p99 of changes during ${r.scenario}`, xLabel: 'system', yLabel: 's', logX: false,
      xTicks: names.map((_, i) => i + 1), xTickLabel: (x) => names[x - 1] ?? '',
      series: [
        { name: 'system, p99', color: '#d62728', points: r.systems.map((s, i): [number, number] => [i + 1, s.own.summary.p99 / 1000]) },
        { name: 'baseline watcher, p99 (same window)', color: '#7f7f7f', points: r.systems.map((s, i): [number, number] => [i + 1, s.baseline.summary.p99 / 1000]) },
      ],
    });
  }
  const W = 480;
  const H = 300;
  const cols = 2;
  const rows = Math.max(1, Math.ceil(panels.length / cols));
  const body = panels.map((p, i) => panelSvg(p, (i % cols) * W, Math.floor(i / cols) * H, W, H)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${cols * W}" height="${rows * H}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
${body}
</svg>
`;
}
