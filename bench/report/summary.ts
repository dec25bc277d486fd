// summary.md from the scenario results: the table of figures against the targets, section by
// section (the helm, scoping and systems-side-by-side sections have files of their own).
import { IMAGE_ENV, IMAGE_NODE_FLAGS } from '../../test/support/image.ts';
import type { LoadReport } from '../lib/load.ts';
import { mib } from '../lib/stats.ts';
import { type ContentionResult, DURING_TARGET } from '../lib/contention.ts';
import type { BurstKResult } from '../scenarios/burst-k.ts';
import type { SharedResult } from '../scenarios/burst-shared.ts';
import type { HelmResult } from '../scenarios/helm-secrets.ts';
import type { ScenarioResult } from '../scenarios/index.ts';
import type { ScaleResult } from '../scenarios/scale.ts';
import type { ScopingResult } from '../scenarios/scoping.ts';
import type { WavesResult } from '../scenarios/waves.ts';
import { fmt, ok, restart, scaleLabel, share, TARGETS } from './format.ts';
import { renderHelm } from './helm.ts';
import { renderScoping } from './scoping.ts';
import { renderContention, renderPeersHeader, renderScalePeers } from './systems.ts';

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
