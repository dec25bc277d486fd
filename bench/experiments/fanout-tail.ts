// Where the fan-out's slow samples went (issue 24, point 2): each operator sample slower than 2×
// the baseline watcher's p99 (and the slowest few in any case) put beside the operator's own
// trace in the same moments — its PATCH of that Deployment in the apiserver's audit log (when it
// arrived, when it was answered), its other requests then, event-loop stalls and GCs
// (bench/lib/loop-trace.mjs, `--trace-operator`), the baseline's samples around it (machine
// noise slows both) — and its log lines naming the Deployment.
//
//   npm run bench -- --scenarios fan-out --fanout-m 1000 --keep-work --trace-operator --out DIR
//   npx tsx bench/experiments/fanout-tail.ts DIR WORKDIR    # WORKDIR: the "work directory kept" line
// Writes DIR/tail.md and prints it.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ContentionResult } from '../lib/contention.ts';

const [resultsDir, workDir] = process.argv.slice(2);
if (!resultsDir || !workDir) throw new Error('usage: fanout-tail.ts RESULTS_DIR WORK_DIR');
const jsonFile = readdirSync(resultsDir).find((f) => f.startsWith('fan-out') && f.endsWith('.json'));
if (!jsonFile) throw new Error(`no fan-out JSON in ${resultsDir}`);
const result = JSON.parse(readFileSync(path.join(resultsDir, jsonFile), 'utf8')) as ContentionResult;
const scenarioDir = path.join(workDir, result.scenario);
const op = result.systems.find((s) => s.system === 'operator');
if (!op?.own.samplesWhere) throw new Error('no operator samples with their times (a run from before samplesWhere)');

interface Audit { verb: string; resource: string; name: string; user: string; at: number; done: number; code: number }
const audit: Audit[] = [];
const seen = new Set<string>();
for (const line of readFileSync(path.join(scenarioDir, 'audit.log'), 'utf8').split('\n')) {
  if (!line) continue;
  const e = JSON.parse(line) as {
    auditID: string; stage: string; verb: string; user?: { username?: string }; objectRef?: { resource?: string; subresource?: string; name?: string };
    requestReceivedTimestamp: string; stageTimestamp: string; responseStatus?: { code?: number };
  };
  if (e.stage !== 'ResponseComplete' || seen.has(e.auditID)) continue;
  seen.add(e.auditID);
  audit.push({
    verb: e.verb, resource: [e.objectRef?.resource, e.objectRef?.subresource].filter(Boolean).join('/'), name: e.objectRef?.name ?? '',
    user: e.user?.username ?? '', at: Date.parse(e.requestReceivedTimestamp), done: Date.parse(e.stageTimestamp), code: e.responseStatus?.code ?? 0,
  });
}
const isOperator = (a: Audit) => a.user.includes('config-reload-operator');

interface Trace { k: 'sec' | 'stall' | 'gc'; t: number; ms?: number; max?: number; p99?: number; kind?: string; cpuMs?: number; waitMs?: number }
const traceFile = readdirSync(scenarioDir).find((f) => f.startsWith('operator-') && f.endsWith('.trace.jsonl'));
const trace: Trace[] = traceFile ? readFileSync(path.join(scenarioDir, traceFile), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Trace) : [];
const logFile = readdirSync(scenarioDir).find((f) => f.startsWith('operator-') && f.endsWith('.log'));
const logLines = logFile ? readFileSync(path.join(scenarioDir, logFile), 'utf8').split('\n') : [];

const base = op.baseline;
const baseWhere = base.samplesWhere ?? [];
const limit = 2 * base.summary.p99;
const samples = op.own.samplesMs.map((ms, i) => ({ ms, ...(op.own.samplesWhere?.[i] ?? { app: '?', ackedAt: NaN }) }));
const slow = samples.filter((s) => s.ms > limit);
const slowest = [...samples].sort((a, b) => b.ms - a.ms).slice(0, Math.max(5, slow.length));
const iso = (t: number) => new Date(t).toISOString().slice(11, 23);
const out: string[] = [];
out.push(`# Fan-out tail: ${result.scenario}`, '');
out.push(`operator p50 / p99 / max ${op.own.summary.p50} / ${op.own.summary.p99} / ${op.own.summary.max} ms (n=${op.own.summary.n}); `
  + `baseline p99 ${base.summary.p99} ms; ratio ${op.ratioP99}; samples above 2× the baseline's p99 (${Math.round(limit)} ms): ${slow.length}`, '');
const gcs = trace.filter((t) => t.k === 'gc');
const majors = gcs.filter((t) => t.kind === 'major');
const stalls = trace.filter((t) => t.k === 'stall');
out.push(`trace: ${gcs.length} GCs (${majors.length} major, longest ${Math.max(0, ...gcs.map((g) => g.ms ?? 0))} ms), ${stalls.length} loop stalls ≥ 40 ms `
  + `(longest ${Math.max(0, ...stalls.map((s) => s.ms ?? 0))} ms; ${stalls.reduce((n, s) => n + (s.ms ?? 0), 0)} ms in all, of which the main thread waited for a core `
  + `${stalls.some((s) => s.waitMs !== undefined) ? `${stalls.reduce((n, s) => n + (s.waitMs ?? 0), 0)} ms` : '(not measured by this trace)'} `
  + `and the process ran ${stalls.some((s) => s.cpuMs !== undefined) ? `${stalls.reduce((n, s) => n + (s.cpuMs ?? 0), 0)} ms of CPU` : '(not measured) CPU'})`, '');

for (const s of slowest) {
  const rolledAt = s.ackedAt + s.ms;
  out.push(`## ${s.app}: ${s.ms} ms (write acked ${iso(s.ackedAt)}, roll seen ${iso(rolledAt)})`, '');
  const patch = audit.filter((a) => isOperator(a) && a.name === s.app && a.verb === 'patch' && a.at >= s.ackedAt - 50 && a.at <= rolledAt + 50);
  for (const p of patch) {
    out.push(`- its PATCH: received +${p.at - s.ackedAt} ms, answered +${p.done - s.ackedAt} ms (${p.code}); roll seen by the benchmark ${Math.round(rolledAt - p.done)} ms after the answer`);
  }
  if (patch.length === 0) out.push('- no PATCH of it by the operator in the window (audit)');
  const from = s.ackedAt - 200;
  const others = audit.filter((a) => isOperator(a) && a.at >= from && a.at <= rolledAt && a.name !== s.app);
  const byKind = new Map<string, number>();
  for (const a of others) byKind.set(`${a.verb} ${a.resource}`, (byKind.get(`${a.verb} ${a.resource}`) ?? 0) + 1);
  out.push(`- the operator's other requests from 200 ms before to the roll: ${[...byKind].map(([k, n]) => `${k} ×${n}`).join(', ') || 'none'}`);
  const slowOwn = others.filter((a) => a.done - a.at > 100).map((a) => `${a.verb} ${a.resource}/${a.name} ${a.done - a.at} ms at ${iso(a.at)}`);
  if (slowOwn.length) out.push(`- of which slow at the apiserver (>100 ms): ${slowOwn.slice(0, 6).join('; ')}`);
  const inWindow = (t: Trace) => t.t >= from && t.t <= rolledAt;
  const g = gcs.filter(inWindow).filter((x) => (x.ms ?? 0) >= 2);
  out.push(`- GCs ≥ 2 ms: ${g.map((x) => `${x.kind} ${x.ms} ms at ${iso(x.t)}`).join('; ') || 'none'}`);
  const st = stalls.filter((t) => t.t >= from && t.t <= rolledAt + 1000);
  // cpu: the process's CPU time in the stall; waiting: the main thread runnable without a core (the machine's share).
  out.push(`- loop stalls: ${st.map((x) => `${x.ms} ms ending ${iso(x.t)} (cpu ${x.cpuMs ?? '?'} ms, waiting for a core ${x.waitMs ?? '?'} ms)`).join('; ') || 'none'}`);
  const secs = trace.filter((t) => t.k === 'sec' && t.t >= s.ackedAt && t.t <= rolledAt + 1000);
  out.push(`- loop delay per second (max ms / cpu ms): ${secs.map((x) => `${Math.round(x.max ?? 0)}/${x.cpuMs}`).join(', ')}`);
  const near = base.samplesMs.map((ms, i) => ({ ms, at: baseWhere[i]?.ackedAt ?? NaN })).filter((b) => Math.abs(b.at - s.ackedAt) < 2000);
  out.push(`- baseline samples within 2 s: ${near.map((b) => `${b.ms} ms at ${iso(b.at)}`).join(', ') || 'none'}`);
  const lines = logLines.filter((l) => l.includes(`/${s.app}"`) || l.includes(`/${s.app},`)).filter((l) => {
    const m = /"timestamp":"([^"]+)"/.exec(l);
    const t = m ? Date.parse(m[1] as string) : NaN;
    return t >= from && t <= rolledAt + 1000;
  });
  for (const l of lines.slice(0, 5)) out.push(`- log: ${l.slice(0, 300)}`);
  out.push('');
}
const text = out.join('\n');
writeFileSync(path.join(resultsDir, 'tail.md'), `${text}\n`);
process.stdout.write(`${text}\n`);
if (!existsSync(scenarioDir)) process.stderr.write(`no ${scenarioDir}\n`);
