// summary.md sections of the systems side by side: the mass-adoption and fan-out scenarios
// (changes timed while the system is busy), and the peers' rows of the scale scenarios.
import type { ContentionResult, SystemRun } from '../lib/contention.ts';
import type { LatencyResult } from '../lib/latency.ts';
import type { ScaleResult } from '../scenarios/scale.ts';
import { mib } from '../lib/stats.ts';

const fmt = (x: number | null | undefined, digits = 0) => (typeof x !== 'number' || !Number.isFinite(x) ? '—' : x.toFixed(digits));
const mibs = (...b: number[]) => b.map((x) => fmt(mib(x), 0)).join(' / ');
const ms = (x: number) => (Number.isFinite(x) && x >= 10_000 ? `${fmt(x / 1000, 1)} s` : fmt(x, 0));

export interface PeerMeta {
  name: string;
  binary: string;
  command: string;
  notes: string[];
}

/** p50 / p99 / max (n, timeouts): a timeout is a change not seen rolled within the sample timeout. */
export function latencyCell(l: LatencyResult, timeoutMs?: number): string {
  const s = l.summary;
  const to = l.timeouts ? `, **${l.timeouts} not rolled within ${fmt((timeoutMs ?? NaN) / 1000)} s**` : '';
  return s.n ? `${ms(s.p50)} / ${ms(s.p99)} / ${ms(s.max)} (n=${s.n}${to})` : `— (n=0${to})`;
}

export function verdict(r: SystemRun, target: number): string {
  if (r.own.summary.n === 0) return 'no sample ❌';
  const pass = r.ratioP99 <= target && r.own.timeouts === 0;
  return `${fmt(r.ratioP99, 2)}× ${pass ? '✅' : '❌'}`;
}

export function renderPeersHeader(peers: readonly PeerMeta[] | undefined): string[] {
  if (!peers?.length) return [];
  const L = ['## Peers (`--peer`)', ''];
  L.push('Run one at a time after the operator, on the same control plane and objects (every Deployment carries every system\'s opt-in annotation), '
    + 'each with its own ServiceAccount (audit log), RSS from /proc, latency to the pod-template annotation it writes, seen by the harness\'s own watch.', '');
  L.push('| peer | binary | command line (as documented) | notes |');
  L.push('|---|---|---|---|');
  for (const p of peers) L.push(`| ${p.name} | \`${p.binary}\` | \`${p.command}\` | ${p.notes.join('; ')} |`);
  L.push('');
  return L;
}

export function renderContention(results: readonly ContentionResult[], target: number): string[] {
  if (!results.length) return [];
  const L: string[] = ['## Changes while the system is busy (mass-adoption, fan-out)', ''];
  L.push('Sequential changes (one at a time per system, write acknowledged → pod template changed on the harness\'s watch) made while the system is busy, '
    + 'and the same on the baseline watcher\'s own pairs at the same moments (two loops side by side). '
    + '**mass-adoption**: N Deployments (`replicas: 0`, 1 KiB ConfigMap each) not yet adopted, the system starting on them as on a fresh install; '
    + 'changes go to Deployments it has already taken on (operator: digest recorded; Wave: rolled once; Reloader: any), until every one is taken on and the system does nothing beyond the samples. '
    + '**fan-out**: one ConfigMap shared by M Deployments changes (M rolls); during that roll-out, changes to unrelated ConfigMaps (each its own consumer). '
    + `Target: the system's p99 ≤ ${target}× the baseline's p99 in the same window, no change left unrolled.`, '');
  for (const r of results) {
    const what = r.kind === 'mass-adoption'
      ? `**${r.scenario}**: ${r.deployments.toLocaleString('en-US')} Deployments adopted at once`
      : `**${r.scenario}**: 1 ConfigMap shared by ${(r.m ?? 0).toLocaleString('en-US')} Deployments, changed ${r.rounds} time(s); ${r.unrelated} unrelated pairs`;
    L.push(`${what} (created in ${r.createSeconds} s; window at least ${r.window.minMs / 1000} s, at most ${r.window.maxMs / 1000} s; sample timeout ${r.window.sampleTimeoutMs / 1000} s${r.kind === 'fan-out' ? `; a peer's start-up waited for at most ${r.window.settleMaxMs / 1000} s` : ''}).`, '');
    L.push(`| system | change → template p50 / p99 / max ms | baseline, same window | p99 ratio (≤ ${target}) | window | ${r.kind === 'mass-adoption' ? 'adoption: first → last write (taken / of)' : 'fan-out: ack → last consumer rolled, per round'} | ready after |`);
    L.push('|---|---|---|---|---|---|---|');
    for (const s of r.systems) {
      const extra = r.kind === 'mass-adoption'
        ? (s.adoption ? `${fmt(s.adoption.firstToLastSeconds, 1)} s (${s.adoption.taken} / ${s.adoption.of})${s.adoption.complete ? '' : ' incomplete'}` : 'none (no adoption: acts on changes only)')
        : (s.fanOut?.rounds.map((x) => (x.allRolledMs === undefined ? `${x.rolled}/${s.fanOut?.consumers} rolled` : ms(x.allRolledMs))).join(', ') ?? '—')
          + (s.fanOut && !s.fanOut.settled ? ' (start-up rolls still running when the fan-out began)' : '');
      L.push(`| ${s.system} | ${latencyCell(s.own, r.window.sampleTimeoutMs)} | ${latencyCell(s.baseline, r.window.sampleTimeoutMs)} | ${verdict(s, target)} | ${s.windowSeconds} s${s.quiet ? '' : ', still busy at its end'} | ${extra} | ${fmt(s.readyMs)} ms |`);
    }
    for (const [name, err] of Object.entries(r.failures)) L.push(`| ${name} | failed: ${err.split('\n')[0]} | | | | | |`);
    L.push('');
    L.push('| system | RSS ready / end / peak MiB | rolls nobody asked for (start-up) | duplicate rolls | missed | requests (its identity, whole window) | LISTs per ConfigMap write | workload writes / rolls (adoption writes included) |');
    L.push('|---|---|---|---|---|---|---|---|');
    for (const s of r.systems) {
      const verbs = Object.entries(s.api.counts).map(([k, v]) => `${k} ${v}`).join(', ');
      L.push(`| ${s.system} | ${mibs(s.memory.readyRssBytes, s.memory.endRssBytes, s.memory.peakRssBytes)} | ${s.unaskedRolls} | ${s.duplicateRolls} | ${s.missedRolls} | `
        + `${s.api.total}: ${verbs} | ${fmt(s.api.lists / Math.max(1, s.api.changes), 2)} (${s.api.changes} writes) | ${s.api.writes} / ${s.api.rolls} |`);
    }
    L.push('');
    const notes = r.systems.filter((s) => s.notes.length).map((s) => `${s.system}: ${s.notes.join('; ')}`);
    if (notes.length) L.push(...notes.map((n) => `- ${n}`), '');
  }
  L.push('Rolls are counted by the Deployment controller\'s `deployment.kubernetes.io/revision` (one new ReplicaSet per roll), never by generation. '
    + '"Rolls nobody asked for": beyond one per successful sample and per shared change (Wave\'s roll of every workload it first sees lands here). '
    + '"LISTs per ConfigMap write": every ConfigMap write of the window counts (the baseline\'s too), since a peer may act on ConfigMaps nobody opted in consumes. '
    + 'The window\'s requests include the start-up (its initial LISTs and WATCHes; an adoption\'s writes).', '');
  return L;
}

/** The scale scenarios, every system side by side: the operator's figures and each peer's. */
export function renderScalePeers(scale: readonly ScaleResult[], label: (r: ScaleResult) => string): string[] {
  const withPeers = scale.filter((r) => r.peers?.length || Object.keys(r.peerFailures ?? {}).length);
  if (!withPeers.length) return [];
  const L = ['## Side by side: the operator and its peers (scale scenarios)', ''];
  L.push('Same cluster and objects, one system at a time (the operator first; its figures are those above: `--debounce 0`, restart over adopted Deployments for RSS after sync). '
    + 'Latency: open loop as above, each system\'s samples interleaved with the baseline watcher\'s at the same moments; the ratio is to that baseline. '
    + 'RSS from /proc: at ready, after the start-up settled (or at the storm\'s end for the operator), peak. Rolls at start-up and in the storm by revision. '
    + 'Requests per change: every request of its identity during the latency phase over the ConfigMap writes of that phase (its own and the baseline\'s: a peer that lists on every ConfigMap update pays for both).', '');
  L.push('| scenario | system | p50 / p99 ms (n, timeouts) | baseline p99 | p99 ratio | RSS ready / settled or end / peak MiB | rolls at start-up | storm: rolled / missed / duplicates, all after | requests per change (LISTs) | not measured |');
  L.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of withPeers) {
    const a = r.latency.debounce0;
    const s = r.startups.find((x) => x.kind === 'restart') ?? r.startups[0];
    const peak = Math.max(...r.startups.map((x) => x.memorySettled.peakRssBytes), r.storm?.memoryAfter.peakRssBytes ?? 0);
    const apiOp = r.api['latency-debounce0'];
    const perChange = (counts: Record<string, number> | undefined, changes: number) => {
      if (!counts || !changes) return '—';
      const total = Object.values(counts).reduce((n, v) => n + v, 0);
      const lists = Object.entries(counts).filter(([k]) => k.startsWith('list ')).reduce((n, [, v]) => n + v, 0);
      return `${fmt(total / changes, 2)} (${fmt(lists / changes, 2)})`;
    };
    const st = r.storm;
    L.push(`| ${label(r)} | operator | ${fmt(a.operator.summary.p50, 0)} / ${fmt(a.operator.summary.p99, 0)} (${a.operator.summary.n}, ${a.operator.timeouts}) | ${fmt(a.baseline.summary.p99, 0)} | ${fmt(r.ratioP99.debounce0, 2)}× | `
      + `${mibs(s?.memoryAtSync.rssBytes ?? NaN, st?.memoryAfter.rssBytes ?? s?.memorySettled.rssBytes ?? NaN, peak)} | ${s?.rollsObserved ?? '—'} | `
      + `${st ? `${st.rolled} / ${st.missed} / ${st.duplicateRolls}, ${st.allRolledSeconds} s` : '—'} | ${perChange(apiOp?.counts, 2 * (apiOp?.changes ?? 0))} | |`);
    for (const p of r.peers ?? []) {
      const api = r.api[`${p.system}: latency`];
      const ps = p.storm;
      L.push(`| ${label(r)} | ${p.system} | ${fmt(p.latency.peer.summary.p50, 0)} / ${fmt(p.latency.peer.summary.p99, 0)} (${p.latency.peer.summary.n}, ${p.latency.peer.timeouts}) | ${fmt(p.latency.baseline.summary.p99, 0)} | ${fmt(p.ratioP99, 2)}× | `
        + `${mibs(p.memory.readyRssBytes, p.memory.settledRssBytes, p.memory.peakRssBytes)} | ${p.startupRolls}${p.settled ? '' : ' (still rolling)'} | `
        + `${ps ? `${ps.rolled} / ${ps.missed} / ${ps.duplicates}, ${ps.allRolledSeconds === undefined ? `not all within ${ps.waitedSeconds} s` : `${ps.allRolledSeconds} s`}` : '—'} | ${perChange(api?.counts, api?.changes ?? 0)} | ${p.unsupported.join('; ')} |`);
    }
    for (const [name, err] of Object.entries(r.peerFailures ?? {})) L.push(`| ${label(r)} | ${name} | failed: ${err.split('\n')[0]} | | | | | | | |`);
  }
  L.push('', 'Operator\'s requests per change: its latency phase\'s requests over its own and the baseline\'s ConfigMap writes, as for the peers.', '');
  return L;
}
