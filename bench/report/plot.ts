// plot.svg from the scenario results: latency and memory against scale and against ConfigMap
// size, the peers' series, and the p99 of changes while busy (a hand-written SVG).
import type { ContentionResult } from '../lib/contention.ts';
import type { PeerScaleRun } from '../lib/peer-scale.ts';
import { mib } from '../lib/stats.ts';
import type { ScenarioResult } from '../scenarios/index.ts';
import type { ScaleResult } from '../scenarios/scale.ts';
import { restart, share, TARGETS } from './format.ts';

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
