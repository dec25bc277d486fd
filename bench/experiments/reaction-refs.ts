// Small-scale reaction across builds (issue 24, point 4): operator builds from git refs (and the
// working tree) and a peer, each on a fresh control plane of its own, interleaved round by round,
// on the same objects — N Deployments, each consuming its own ConfigMap of S KiB, opted in to
// every system — with `--debounce 0`. Per system: sequential changes (the next one after the
// previous roll was seen and a gap), each timed from the write's acknowledgement to the
// harness's watch showing the template annotation changed; for an operator also when its
// "rolled" line arrived (the PATCH acknowledged) and the CPU it spent per change (its
// process_cpu_seconds_total, microseconds, over the changes minus the same span idle).
//
//   npx tsx bench/experiments/reaction-refs.ts [--refs aaff2a2,.] [--peer reloader] [--n 200]
//     [--changes 30] [--rounds 1] [--cpu-prof] [--out bench/results/reaction-200]
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Ctx } from '../lib/context.ts';
import { OPERATOR_USER } from '../lib/cluster.ts';
import { createObjects, type Env, pairOf, queueIdle, stopOp, withCluster } from '../lib/harness.ts';
import { pool } from '../lib/kube.ts';
import { cfgOf, changeConfigMap, configMap, DATA_KEY, deployment, ENABLED, HASH, loadDigester, NS, payload, podSpec } from '../lib/objects.ts';
import { type RunningOperator, startOperator } from '../lib/operator.ts';
import { parsePeers } from '../lib/peers.ts';
import { summarizeCpuProfile } from '../lib/profile.ts';
import { buildRef } from '../lib/snapshot.ts';
import { percentile, summarize } from '../lib/stats.ts';
import { SENTINEL, startSystem } from '../lib/systems.ts';
import { until } from '../lib/tracker.ts';
import { round1, sleep } from '../lib/util.ts';
import { IMAGE_NODE_FLAGS } from '../../test/support/image.ts';

const HELP = `npx tsx bench/experiments/reaction-refs.ts [options]
  --refs LIST      operator builds: git refs, or . for the working tree (default aaff2a2,.)
  --peer LIST      peers, NAME[=PATH] comma-separated (default reloader; "none" = no peer)
  --n N            Deployments, each with its own ConfigMap (default 200)
  --kib S          ConfigMap size (default 1)
  --changes C      measured changes per system and round (default 30), after --warmup W (default 3)
  --gap MS         pause after each roll was seen, before the next change (default 300)
  --rounds R       rounds; each runs every system once, the order rotated (default 1)
  --cpu-prof       the operators run with --cpu-prof; the profile of the changes summarised
  --log-level L    the operators' log level (default info, as the image)
  --paired         instead: every operator build on ONE control plane at once, each watching a
                   namespace of its own (--namespace) with its own N pairs, the changes taking
                   turns between them in a shuffled order: same load, same moments (peers left out)
  --keep-work      keep the work directory (logs, audit logs, CPU profiles); its path is printed
  --out DIR        results: DIR/<label>.json (default bench/results/reaction-200)
  --label NAME     default: the time of the run`;

const { values: v } = parseArgs({
  options: {
    refs: { type: 'string' }, peer: { type: 'string' }, n: { type: 'string' }, kib: { type: 'string' }, changes: { type: 'string' },
    warmup: { type: 'string' }, gap: { type: 'string' }, rounds: { type: 'string' }, 'cpu-prof': { type: 'boolean' },
    'log-level': { type: 'string' }, 'keep-work': { type: 'boolean' }, paired: { type: 'boolean' }, out: { type: 'string' }, label: { type: 'string' }, help: { type: 'boolean' },
  },
});
if (v.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const refs = (v.refs ?? 'aaff2a2,.').split(',').map((r) => r.trim());
const peers = v.peer === 'none' ? [] : parsePeers((v.peer ?? 'reloader').split(',').map((p) => p.trim()));
const n = Number(v.n ?? 200);
const bytes = Number(v.kib ?? 1) * 1024;
const changes = Number(v.changes ?? 30);
const warmup = Number(v.warmup ?? 3);
const gapMs = Number(v.gap ?? 300);
const rounds = Number(v.rounds ?? 1);
const logLevel = v['log-level'] ?? 'info';
const outDir = path.resolve(v.out ?? path.join(repo, 'bench/results/reaction-200'));
const label = v.label ?? new Date().toISOString().slice(0, 16).replace(/[:T]/g, '-');
const log = (line: string) => process.stderr.write(`[reaction ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

const work = mkdtempSync(path.join(os.tmpdir(), 'cro-reaction-'));
const builds = refs.map((ref, i) => ({ ref, ...buildRef(repo, ref, path.join(work, `operator-${i}`)) }));
for (const b of builds) log(`operator ${b.ref}: commit ${b.commit}${b.dirty ? ` + ${b.dirty} uncommitted file(s) under src/` : ''}`);
// The newest build's manifests (RBAC) for every cluster: a superset of what older builds need.
const head = builds[builds.length - 1] as (typeof builds)[number];

type SystemSpec = { name: string; build?: (typeof builds)[number] };
const systems: SystemSpec[] = [...builds.map((b) => ({ name: `operator@${b.ref === '.' ? `${b.commit}+tree` : b.ref}`, build: b })), ...peers.map((p) => ({ name: p.profile.name }))];

function ctxFor(operatorDir: string, digester: Ctx['digester']): Ctx {
  return {
    settings: {
      samples: changes, warmup, rate: 1, concurrency: 16, stormMax: 0, logLevel, profile: new Set(), runtime: 'dist',
      baselinePairs: 0, nodeOptions: '', operatorArgs: [], peerSettleMs: 120_000, traceOperator: false,
    } as Ctx['settings'],
    repo, operatorDir, workRoot: work, resultsDir: outDir, digester, log: (l) => log(l), peers, info: { k8s: '', rbac: '' },
  };
}

/** The summary of bench/lib/stats.ts with p90 (the issue's figures are p50 / p90 / max). */
function summary90(values: readonly number[]) {
  return { ...summarize(values), p90: round1(percentile([...values].sort((a, b) => a - b), 90)) };
}

/** The parts of the samples' latency the audit log tells apart. */
function parts(samples: readonly Sample[]) {
  const timed = samples.filter((s) => s.patchReceivedMs !== undefined && s.patchDoneMs !== undefined);
  return {
    timed: timed.length,
    ackToPatchReceived: summary90(timed.map((s) => s.patchReceivedMs as number)),
    patchInApiserver: summary90(timed.map((s) => (s.patchDoneMs as number) - (s.patchReceivedMs as number))),
    patchDoneToWatch: summary90(timed.map((s) => s.ms - (s.patchDoneMs as number))),
  };
}

interface Sample {
  app: string;
  ms: number;
  /** The write acknowledged, on the wall clock (for the audit log's timestamps). */
  ackedWall: number;
  rolledLineMs?: number;
  /** From the audit log: the operator's PATCH of the Deployment received, and its response complete (ms after the ack). */
  patchReceivedMs?: number;
  patchDoneMs?: number;
}

/**
 * Each sample's split by the apiserver's audit log (its clock is this machine's): the write
 * acknowledged → the system's PATCH of the Deployment received (watch delivery and the system's
 * own work) → its response complete → the harness's watch shows the roll.
 */
function splitByAudit(auditLog: string, user: string, samples: Sample[], namespace = NS): void {
  const patches = new Map<string, Array<{ received: number; done: number }>>();
  for (const line of readFileSync(auditLog, 'utf8').split('\n')) {
    if (!line.includes('"patch"') || !line.includes('deployments')) continue;
    const e = JSON.parse(line) as { verb: string; user?: { username?: string }; objectRef?: { resource?: string; name?: string; namespace?: string }; requestReceivedTimestamp: string; stageTimestamp: string; stage: string };
    if (e.verb !== 'patch' || e.user?.username !== user || e.objectRef?.resource !== 'deployments' || e.stage !== 'ResponseComplete') continue;
    if (e.objectRef.namespace !== namespace) continue;
    const list = patches.get(e.objectRef.name ?? '') ?? [];
    list.push({ received: microsOf(e.requestReceivedTimestamp), done: microsOf(e.stageTimestamp) });
    patches.set(e.objectRef.name ?? '', list);
  }
  for (const s of samples) {
    const p = patches.get(s.app)?.find((x) => x.received / 1000 >= s.ackedWall - 5);
    if (!p) continue;
    s.patchReceivedMs = round1(p.received / 1000 - s.ackedWall);
    s.patchDoneMs = round1(p.done / 1000 - s.ackedWall);
  }
}

/** An RFC 3339 timestamp with microseconds, as microseconds since the epoch. */
function microsOf(ts: string): number {
  const m = /\.(\d+)Z$/.exec(ts);
  const frac = (m?.[1] ?? '').padEnd(6, '0').slice(0, 6);
  return Date.parse(ts.replace(/\.\d+Z$/, 'Z')) * 1000 + Number(frac);
}

/** Sequential changes: each waits for the previous roll to be seen (and the gap) before it is written. */
async function sequence(env: Env, key: string, apps: readonly string[], count: number, rolledLine?: (app: string) => Promise<number | undefined>): Promise<Sample[]> {
  const out: Sample[] = [];
  for (const app of apps.slice(0, count)) {
    const waiter = env.tracker.nextChange(app, key, 30_000);
    const line = rolledLine?.(app);
    const { acked } = await changeConfigMap(env.cl.admin, cfgOf(app), bytes);
    const change = await waiter;
    const lineAt = await line;
    if (!change) throw new Error(`${app}: no roll within 30 s`);
    out.push({ app, ms: round1(change.at - acked), ackedWall: performance.timeOrigin + acked, ...(lineAt !== undefined ? { rolledLineMs: round1(lineAt - acked) } : {}) });
    await sleep(gapMs);
  }
  return out;
}

const result: Record<string, unknown> = {
  command: `npx tsx bench/experiments/reaction-refs.ts ${process.argv.slice(2).join(' ')}`.trim(),
  date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, loadavgAtStart: os.loadavg(),
  settings: { n, bytes, changes, warmup, gapMs, rounds, logLevel, debounce: '0', cpuProf: Boolean(v['cpu-prof']), nodeFlags: IMAGE_NODE_FLAGS },
  builds: builds.map(({ ref, commit, dirty }) => ({ ref, commit, dirty })),
};
const runs: Array<Record<string, unknown>> = [];
result.runs = runs;
const write = () => {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, `${label}.json`), `${JSON.stringify(result, null, 1)}\n`);
};

if (v.paired) {
  await paired();
  finish();
}

for (let r = 0; r < rounds; r++) {
  // Interleaved: each round starts one system further on.
  const order = systems.map((_, i) => systems[(i + r) % systems.length] as SystemSpec);
  for (const sys of order) {
    const dir = sys.build?.dir ?? head.dir;
    const ctx = ctxFor(dir, await loadDigester(head.dir));
    await withCluster(ctx, `r${r}-${sys.name.replace(/[^a-z0-9.-]/gi, '_')}`, async (env) => {
      const apps = Array.from({ length: n }, (_, i) => `app-${i}`);
      await createObjects(env, [...apps.map((a) => pairOf(a)), pairOf(SENTINEL)], bytes, false);
      // Changes go to Deployments in a fixed spread order, warm-up first.
      const targets = Array.from({ length: warmup + changes }, (_, i) => apps[(i * 37) % n] as string);
      const loadavg = os.loadavg()[0] ?? NaN;
      if (sys.build) {
        const b = sys.build;
        const profDir = path.join(env.dir, 'cpu-prof');
        const op = await startOperator({
          operatorDir: b.dir, runtime: 'dist', kubeconfig: env.cl.operatorKubeconfig, logDir: env.dir, label: `r${r}-${b.commit}`, logLevel,
          extraArgs: ['--debounce', '0'], digestKey: b.ref === '.' || readdirSync(path.join(b.dir, 'src/kube')).includes('digest-key.ts'),
          ...(v['cpu-prof'] ? { nodeFlags: [...IMAGE_NODE_FLAGS, '--cpu-prof', `--cpu-prof-dir=${profDir}`] } : {}),
        }, 300_000);
        await queueIdle(op, 120_000);
        await until(() => apps.every((a) => env.tracker.recorded(a) !== undefined), 120_000, 200);
        const cpu = async () => op.metric('process_cpu_seconds_total');
        // When the operator's "rolled" line for this Deployment arrives (its PATCH acknowledged).
        const rolledLine = (app: string) => op.proc.waitFor(`rolled ${app}`, (l) => l.message === 'rolled' && String(l.workload ?? '').endsWith(`/${app}`) && !seenLines.has(l), 30_000)
          .then((h) => (seenLines.add(h.line), h.at)).catch(() => undefined);
        const seenLines = new WeakSet<object>();
        await sequence(env, HASH, targets, warmup, rolledLine);
        // The same span idle, then the changes: CPU per change net of what the idle operator spends.
        const c0 = await cpu();
        const t0 = performance.now();
        const samples = await sequence(env, HASH, targets.slice(warmup), changes, rolledLine);
        const t1 = performance.now();
        const c1 = await cpu();
        await sleep(t1 - t0);
        const c2 = await cpu();
        const cpuPerChangeMs = round1((((c1 - c0) - (c2 - c1)) * 1000) / changes);
        const profiled = v['cpu-prof'] ? { fromMs: t0 - op.proc.spawnedAt, toMs: t1 - op.proc.spawnedAt } : undefined;
        await stopOp(env, op);
        splitByAudit(env.cl.auditLog, OPERATOR_USER, samples);
        let profile: unknown;
        if (profiled) {
          const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
          if (file) profile = summarizeCpuProfile(path.join(profDir, file), [{ name: 'changes', ...profiled }], 40);
        }
        const summary = summary90(samples.map((s) => s.ms));
        const toLine = summary90(samples.flatMap((s) => (s.rolledLineMs === undefined ? [] : [s.rolledLineMs])));
        runs.push({
          round: r, system: sys.name, ref: b.ref, commit: b.commit, dirty: b.dirty, loadavg, summary, parts: parts(samples), ackToRolledLine: toLine,
          cpuPerChangeMs, cpuSeconds: { changes: round1((c1 - c0) * 1000) / 1000, idleSameSpan: round1((c2 - c1) * 1000) / 1000 },
          samples, ...(profile ? { profile } : {}), problems: env.problems,
        });
        log(`${sys.name} round ${r}: p50 ${summary.p50} p90 ${summary.p90} max ${summary.max} ms; ack→PATCH received p50 ${parts(samples).ackToPatchReceived.p50}; ack→rolled line p50 ${toLine.p50}; CPU ${cpuPerChangeMs} ms/change (load ${loadavg.toFixed(1)})`);
      } else {
        const s = await startSystem(env, sys.name, `r${r}`, { timeoutMs: 300_000 });
        await s.idle(60_000);
        await sequence(env, s.key, targets, warmup);
        const c0 = s.proc.stat()?.cpuSeconds ?? NaN;
        const t0 = performance.now();
        const samples = await sequence(env, s.key, targets.slice(warmup), changes);
        const t1 = performance.now();
        const c1 = s.proc.stat()?.cpuSeconds ?? NaN;
        await sleep(t1 - t0);
        const c2 = s.proc.stat()?.cpuSeconds ?? NaN;
        const cpuPerChangeMs = round1((((c1 - c0) - (c2 - c1)) * 1000) / changes);
        await s.stop();
        splitByAudit(env.cl.auditLog, s.user, samples);
        const summary = summary90(samples.map((x) => x.ms));
        runs.push({ round: r, system: sys.name, command: s.command, loadavg, summary, parts: parts(samples), cpuPerChangeMs, cpuResolution: '10 ms ticks (/proc)', samples, problems: env.problems });
        log(`${sys.name} round ${r}: p50 ${summary.p50} p90 ${summary.p90} max ${summary.max} ms; ack→PATCH received p50 ${parts(samples).ackToPatchReceived.p50}; CPU ${cpuPerChangeMs} ms/change (load ${loadavg.toFixed(1)})`);
      }
      write();
    });
  }
}

finish();

function finish(): never {
// Per system over every round: the samples pooled.
const pooled: Record<string, unknown> = {};
for (const name of new Set(runs.map((x) => String(x.system)))) {
  const mine = runs.filter((x) => x.system === name);
  const all = mine.flatMap((x) => (x.samples as Sample[]).map((s) => s.ms));
  pooled[name] = { ...summary90(all), cpuPerChangeMs: mine.map((x) => x.cpuPerChangeMs) };
}
result.pooled = pooled;
write();
for (const [name, s] of Object.entries(pooled)) log(`${name}: ${JSON.stringify(s)}`);
log(`wrote ${path.join(outDir, `${label}.json`)}`);
if (v['keep-work']) log(`work directory kept: ${work}`);
else rmSync(work, { recursive: true, force: true });
process.exit(0);
}

/**
 * --paired: every build at once on one control plane, build i watching namespace rx-i only, with
 * pairs of its own there; changes take turns between the builds (shuffled each turn), so each
 * sample of one build has a neighbour of every other under the same load. Rounds: a fresh
 * control plane and fresh operators each.
 */
async function paired(): Promise<void> {
  const nsOf = (i: number) => `rx-${i}`;
  const apps = Array.from({ length: n }, (_, i) => `app-${i}`);
  for (let r = 0; r < rounds; r++) {
    const ctx = ctxFor(head.dir, await loadDigester(head.dir));
    await withCluster({ ...ctx, peers: [] }, `paired-r${r}`, async (env) => {
      // A watch of every namespace's Deployments: the roll of <ns>/<app> is its template's HASH changing.
      const seen = new Map<string, string | undefined>();
      const waiters = new Map<string, (at: number) => void>();
      const recorded = new Set<string>();
      type DeploymentView = { metadata?: { name?: string; namespace?: string; resourceVersion?: string; annotations?: Record<string, string> }; spec?: { template?: { metadata?: { annotations?: Record<string, string> } } } };
      // Reconnected from the last version seen whenever it ends (a loaded apiserver drops watches).
      let rv = '';
      let watching = true;
      let current: { stop(): void } | undefined;
      const watchLoop = (async () => {
        while (watching) {
          const w = env.cl.admin.watch<DeploymentView>(`/apis/apps/v1/deployments?watch=1&timeoutSeconds=3600${rv ? `&resourceVersion=${rv}` : ''}`, (e, at) => {
            if ((e.type as string) === 'ERROR') {
              rv = '';
              return;
            }
            rv = e.object.metadata?.resourceVersion ?? rv;
            const id = `${e.object.metadata?.namespace}/${e.object.metadata?.name}`;
            if (e.object.metadata?.annotations?.[HASH] !== undefined) recorded.add(id);
            const value = e.object.spec?.template?.metadata?.annotations?.[HASH];
            if (seen.has(id) && seen.get(id) !== value) waiters.get(id)?.(at);
            seen.set(id, value);
          });
          current = w;
          await w.ended;
          if (watching) await sleep(100);
        }
      })();
      const stopWatch = async () => {
        watching = false;
        current?.stop();
        await watchLoop;
      };
      const ops: Array<{ b: (typeof builds)[number]; ns: string; op: RunningOperator; samples: Sample[]; name: string }> = [];
      try {
        for (const [i, b] of builds.entries()) {
          const ns = nsOf(i);
          await env.cl.admin.requestRetry('POST', '/api/v1/namespaces', { metadata: { name: ns } });
          await pool(apps, 16, async (app) => {
            const cm = configMap(cfgOf(app), { [DATA_KEY]: payload(bytes) });
            await env.cl.admin.requestRetry('POST', `/api/v1/namespaces/${ns}/configmaps`, { ...cm, metadata: { name: cfgOf(app), namespace: ns } });
            const d = deployment(app, podSpec([cfgOf(app)]), { [ENABLED]: 'true' });
            await env.cl.admin.requestRetry('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, { ...d, metadata: { ...(d.metadata as object), namespace: ns } });
          });
        }
        for (const [i, b] of builds.entries()) {
          const op = await startOperator({
            operatorDir: b.dir, runtime: 'dist', kubeconfig: env.cl.operatorKubeconfig, logDir: env.dir, label: `paired-r${r}-${b.commit}`, logLevel,
            extraArgs: ['--debounce', '0', '--namespace', nsOf(i)], digestKey: b.ref === '.' || readdirSync(path.join(b.dir, 'src/kube')).includes('digest-key.ts'),
          }, 300_000);
          ops.push({ b, ns: nsOf(i), op, samples: [], name: `operator@${b.ref === '.' ? `${b.commit}+tree` : b.ref}` });
        }
        await until(() => builds.every((_, i) => apps.every((a) => recorded.has(`${nsOf(i)}/${a}`))), 300_000, 200);
        for (const o of ops) await queueIdle(o.op, 60_000);
        const targets = Array.from({ length: warmup + changes }, (_, k) => apps[(k * 37) % n] as string);
        const cpu = () => Promise.all(ops.map((o) => o.op.metric('process_cpu_seconds_total')));
        let c0: number[] = [];
        let t0 = 0;
        for (const [k, app] of targets.entries()) {
          if (k === warmup) {
            c0 = await cpu();
            t0 = performance.now();
          }
          for (const o of [...ops].sort(() => Math.random() - 0.5)) {
            const id = `${o.ns}/${app}`;
            const rolled = new Promise<number | undefined>((resolve) => {
              const timer = setTimeout(() => resolve(undefined), 30_000);
              waiters.set(id, (at) => {
                clearTimeout(timer);
                resolve(at);
              });
            });
            const body = JSON.stringify({ data: { [DATA_KEY]: payload(bytes) } });
            const res = await env.cl.admin.requestRetry('PATCH', `/api/v1/namespaces/${o.ns}/configmaps/${cfgOf(app)}`, body, 'application/merge-patch+json');
            const at = await rolled;
            waiters.delete(id);
            if (at === undefined) throw new Error(`${id}: no roll within 30 s`);
            if (k >= warmup) o.samples.push({ app, ms: round1(at - res.at), ackedWall: performance.timeOrigin + res.at });
            await sleep(gapMs);
          }
        }
        const t1 = performance.now();
        const c1 = await cpu();
        await sleep(t1 - t0);
        const c2 = await cpu();
        for (const [i, o] of ops.entries()) {
          await stopOp(env, o.op);
          splitByAudit(env.cl.auditLog, OPERATOR_USER, o.samples, o.ns);
          const cpuPerChangeMs = round1((((c1[i] as number) - (c0[i] as number)) - ((c2[i] as number) - (c1[i] as number))) * 1000 / changes);
          const summary = summary90(o.samples.map((x) => x.ms));
          runs.push({ round: r, paired: true, system: o.name, ref: o.b.ref, commit: o.b.commit, namespace: o.ns, loadavg: os.loadavg()[0], summary, parts: parts(o.samples), cpuPerChangeMs, samples: o.samples, problems: env.problems });
          log(`paired round ${r} ${o.name}: p50 ${summary.p50} p90 ${summary.p90} max ${summary.max} ms; ack→PATCH received p50 ${parts(o.samples).ackToPatchReceived.p50}; CPU ${cpuPerChangeMs} ms/change`);
        }
        write();
      } finally {
        await stopWatch();
        for (const o of ops) if (o.op.proc.running) await o.op.proc.stop();
      }
    });
  }
}
