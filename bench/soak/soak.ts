// The soak: a seeded workload against the operator's replicas (behind the fault proxy), judged
// by the model test's oracle (test/support/pods-oracle.ts) fed from the soak's own watches, at
// quiescent checkpoints. See bench/soak/README.md.
//
// Loop: load for a window (events at `rate` per second) → checkpoint: stop the load, clear the
// faults, wait for the replicas' fault windows to close and for a leader, then poll the oracle
// (fenced: every watch has caught up to a write made after the load stopped; what they delivered
// is fed in resourceVersion order) until nothing is pending — no missed roll, every opted-in
// workload adopted, every rollout complete on its ReplicaSets — and a sentinel has gone through
// the operator (every earlier event processed); collect the violations found in the window's
// operator writes; sample RSS. A condition still pending at the deadline is a violation.
// Repeat until the time is up.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kubeconfigThroughProxy, startFaultProxy, type FaultProxy } from '../../testbed/fault-proxy.ts';
import type { Kube } from '../lib/kube.ts';
import { adminFromKubeconfig, digestKeyFile, operatorToken } from './cluster.ts';
import { type AppliedEvent, Driver, type EventType } from './driver.ts';
import { FaultSchedule, type InjectedFault } from './faults.ts';
import { HASH } from './objects.ts';
import { type Finding, Oracle } from './oracle.ts';
import { LEASE, OperatorPool, type ProcessLife, type RssSample } from './operators.ts';
import { Rng } from '../../test/support/rng.ts';
import { pollInterval } from './poll.ts';
import { type ColdStart, type FaultWindow, ReplicaWindows } from './windows.ts';

export interface SoakOptions {
  minutes: number;
  seed: number;
  /** Stop drawing events after this index (replay of a violation). */
  untilEvent?: number;
  /** Events per second during the load. */
  rate: number;
  /** Seconds of load between checkpoints. */
  windowSeconds: number;
  /** The admin kubeconfig of the control plane (client certificates, as the testbed writes). */
  kubeconfig: string;
  workDir: string;
  /** Without the proxy the operator talks to the apiserver directly and no fault is drawn. */
  proxy: boolean;
  log: (line: string) => void;
}

export interface Violation extends Finding {
  seed: number;
  /** The last workload event applied at or before the violation's resourceVersion. */
  eventIndex: number | undefined;
  checkpoint: number;
  replay: string;
}

export interface CheckpointRecord {
  index: number;
  at: string;
  events: [number, number];
  settleMs: number;
  rolls: number;
  /** Operator writes that did not change the pod template (adoptions, re-records). */
  otherWrites: number;
  newReplicaSets: number;
  violations: number;
  proxyRequests?: number;
}

export interface SoakReport {
  seed: number;
  minutes: number;
  rate: number;
  windowSeconds: number;
  startedAt: string;
  endedAt: string;
  commit: string;
  machine: { cpus: number; loadavgStart: number[]; loadavgEnd: number[] };
  events: { total: number; byType: Partial<Record<EventType, number>> };
  faults: { injected: number; byLabel: Record<string, number>; list: InjectedFault[]; proxyRequests: number; proxyByStatus: Record<string, number> };
  operator: { processes: ProcessLife[]; unexpectedExits: Array<ProcessLife & { tail: string[] }> };
  rolls: { seen: number; otherWrites: number; newReplicaSets: number };
  checkpoints: CheckpointRecord[];
  violations: Violation[];
  /** The oracle's own relists (gaps), harness notes, and the windows it was told of. */
  oracle: { gaps: number; harness: Finding[]; coldStarts: ColdStart[]; faultWindows: FaultWindow[] };
  memory: MemorySummary[];
  rss: RssSample[];
  logs: string;
  eventLog: string;
}

export interface MemorySummary {
  replica: string;
  quiescentMiB: number[];
  growthMiB: number | undefined;
  allowedMiB: number | undefined;
  /** V8's used heap at the same checkpoints (from /metrics; absent where it did not answer). */
  heapUsedMiB: Array<number | null>;
  peakMiB: number;
}

const SETTLE_DEADLINE_MS = 300_000;

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const startedAt = new Date();
  const loadavgStart = os.loadavg();
  mkdirSync(o.workDir, { recursive: true });
  const admin = adminFromKubeconfig(o.kubeconfig);
  const kube = admin.kube;
  const prefix = `soak-${randomBytes(2).toString('hex')}`;
  const ctl = `${prefix}-ctl`;
  const rng = new Rng(o.seed);
  const violations: Violation[] = [];
  const checkpoints: CheckpointRecord[] = [];
  const totals = { seen: 0, otherWrites: 0 };
  let proxy: FaultProxy | undefined;
  let pool: OperatorPool | undefined;
  const oracle = new Oracle(kube, (ns) => ns.startsWith(`${prefix}-`), (ns) => ns.startsWith(`${prefix}-`) && ns !== ctl, ctl, LEASE);
  const windows = new ReplicaWindows(kube, ctl, oracle);
  const eventLogFile = path.join(o.workDir, 'events.jsonl');
  writeFileSync(eventLogFile, '');
  let driver: Driver | undefined;
  let faults: FaultSchedule | undefined;
  const proxyTotals = { requests: 0, byStatus: {} as Record<string, number> };

  const replay = (index: number | undefined) => `npm run soak -- --seed ${o.seed} --minutes ${o.minutes} --rate ${o.rate} --window ${o.windowSeconds}${index !== undefined ? ` --until-event ${index}` : ''}`;
  const addViolations = (findings: Finding[], checkpoint: number) => {
    for (const f of findings) {
      const eventIndex = f.rv !== undefined ? driver?.eventAt(f.rv) : undefined;
      violations.push({ ...f, seed: o.seed, eventIndex, checkpoint, replay: replay(eventIndex) });
      o.log(`VIOLATION ${f.kind} ${f.workload}: ${f.detail} (event ${eventIndex ?? '-'})`);
    }
  };

  try {
    await kube.requestRetry('POST', '/api/v1/namespaces', { metadata: { name: ctl } });
    const token = await operatorToken(kube, ctl, `${prefix}-operator`);
    let operatorKubeconfig: string;
    if (o.proxy) {
      proxy = await startFaultProxy({ upstream: admin.server, upstreamCaData: admin.caData });
      operatorKubeconfig = path.join(o.workDir, 'kubeconfig-operator');
      writeFileSync(operatorKubeconfig, kubeconfigThroughProxy(proxy, token), { mode: 0o600 });
      faults = new FaultSchedule(proxy, { starting: (blinding) => windows.faultStarting(blinding), ended: () => windows.faultEnded() });
    } else {
      operatorKubeconfig = path.join(o.workDir, 'kubeconfig-operator');
      writeFileSync(operatorKubeconfig, `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: ${admin.server}, certificate-authority-data: ${admin.caData}}}]
users: [{name: u, user: {token: ${token}}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`, { mode: 0o600 });
    }
    await oracle.start();
    await createFences(kube, ctl);

    const poolRef: { pool?: OperatorPool } = {};
    driver = new Driver(kube, rng, {
      prefix, namespaces: 3, configMapsPerNamespace: 5, deploymentsPerNamespace: 6,
      operatorEvent: (type, r) => (poolRef.pool ? poolRef.pool.event(type, r) : Promise.resolve('skipped')),
      ...(faults ? { faultEvent: (r: Rng) => (faults as FaultSchedule).event(r) } : {}),
    });
    o.log(`seed ${o.seed}: namespaces ${driver.namespaceNames.join(', ')}; control namespace ${ctl}`);
    await driver.setup();
    pool = new OperatorPool({
      root: path.resolve(import.meta.dirname, '../..'), logDir: path.join(o.workDir, 'operator-logs'),
      kubeconfig: () => operatorKubeconfig, namespaces: driver.namespaceNames, controlNamespace: ctl,
      digestKeyFile: digestKeyFile(o.workDir), admin: kube, log: (l) => o.log(`operator: ${l}`),
      onSpawn: (identity, proc) => windows.follow(identity, proc),
    });
    poolRef.pool = pool;
    await pool.start();

    let sentinels = 0;
    let eventIndex = 0;
    let lastCheckpointEvent = 0;
    const checkpoint = async (index: number) => {
      const t0 = Date.now();
      const p = pool as OperatorPool;
      faults?.clear();
      await p.idle();
      // The replicas' fault windows close 10 s after the faults end: the oracle is fed only then.
      await windows.settled();
      const findings: Finding[] = [];
      let settled = false;
      let sentinelDone = false;
      const deadline = Date.now() + SETTLE_DEADLINE_MS;
      try {
        await p.waitForLeader(SETTLE_DEADLINE_MS);
      } catch (err) {
        findings.push({ kind: 'unresponsive', workload: 'operator', detail: String(err) });
      }
      let pending: Finding[] = [];
      let lastProgress = Date.now();
      while (Date.now() < deadline) {
        const fence = await touchFences(kube, ctl);
        while (!oracle.caughtUp(fence) && Date.now() < deadline) await pollInterval(100);
        pending = oracle.pending();
        if (pending.length === 0) {
          if (sentinelDone) {
            settled = true;
            break;
          }
          // Every earlier event went through the operator: the sentinel's adoption comes after them.
          const ok = await sentinel(kube, ctl, ++sentinels, deadline).then(() => true, (err: unknown) => {
            findings.push({ kind: 'unresponsive', workload: `${ctl}/sentinel-${sentinels}`, detail: String(err) });
            return false;
          });
          if (!ok) break;
          sentinelDone = true;
          continue;
        }
        if (Date.now() - lastProgress > 30_000) {
          lastProgress = Date.now();
          o.log(`checkpoint ${index}: still settling, ${pending.length} pending: ${pending.slice(0, 3).map((f) => `${f.kind} ${f.workload}: ${f.detail}`).join('; ')}`);
        }
        await pollInterval(500);
      }
      if (!settled) findings.push(...pending);
      const audit = oracle.audit();
      findings.push(...audit.findings);
      addViolations(findings, index);
      totals.seen += audit.rolls;
      totals.otherWrites += audit.operatorWrites - audit.rolls;
      await p.sampleCheckpoint();
      let proxyRequests: number | undefined;
      if (proxy) {
        const c = proxy.counts();
        proxyRequests = c.total;
        proxyTotals.requests += c.total;
        for (const [k, v] of Object.entries(c.byStatus)) proxyTotals.byStatus[k] = (proxyTotals.byStatus[k] ?? 0) + v;
        proxy.resetCounts();
      }
      const rec: CheckpointRecord = {
        index, at: new Date().toISOString(), events: [lastCheckpointEvent, eventIndex], settleMs: Date.now() - t0,
        rolls: audit.rolls, otherWrites: audit.operatorWrites - audit.rolls, newReplicaSets: oracle.newReplicaSets, violations: findings.length,
        ...(proxyRequests !== undefined ? { proxyRequests } : {}),
      };
      checkpoints.push(rec);
      lastCheckpointEvent = eventIndex;
      o.log(`checkpoint ${index}: events ${rec.events[0]}-${rec.events[1]}, settled in ${rec.settleMs} ms, rolls ${rec.rolls}, other operator writes ${rec.otherWrites}, violations ${findings.length}, load ${os.loadavg()[0]?.toFixed(1)}`);
    };

    await checkpoint(0);
    const loadStart = Date.now();
    const endAt = loadStart + o.minutes * 60_000;
    let cp = 1;
    const gap = 1000 / o.rate;
    outer: while (Date.now() < endAt) {
      const windowEnd = Math.min(endAt, Date.now() + o.windowSeconds * 1000);
      let next = Date.now();
      while (Date.now() < windowEnd) {
        if (o.untilEvent !== undefined && eventIndex > o.untilEvent) break outer;
        const e: AppliedEvent = await driver.step(eventIndex);
        writeFileSync(eventLogFile, `${JSON.stringify(e)}\n`, { flag: 'a' });
        eventIndex++;
        // The workload's rate: a steady pace, not a wait for anything.
        next += gap;
        const wait = next - Date.now();
        if (wait > 0) await pollInterval(wait);
        else next = Date.now();
      }
      await checkpoint(cp++);
    }
    if (o.untilEvent !== undefined) await checkpoint(cp++);

    // Memory: the quiescent RSS of each process that lived through at least three checkpoints
    // may grow from its second (after warm-up) to its last by at most max(25 %, 48 MiB).
    const memory = memorySummary(pool.rss);
    for (const m of memory) {
      if (m.growthMiB !== undefined && m.allowedMiB !== undefined && m.growthMiB > m.allowedMiB) {
        addViolations([{ kind: 'memory-growth', workload: `operator ${m.replica}`, detail: `quiescent RSS grew ${m.growthMiB} MiB (allowed ${m.allowedMiB}): ${m.quiescentMiB.join(', ')} MiB; used heap ${m.heapUsedMiB.map((h) => h ?? '?').join(', ')} MiB` }], cp - 1);
      }
    }
    return {
      seed: o.seed, minutes: o.minutes, rate: o.rate, windowSeconds: o.windowSeconds,
      startedAt: startedAt.toISOString(), endedAt: new Date().toISOString(), commit: gitCommit(),
      machine: { cpus: os.cpus().length, loadavgStart, loadavgEnd: os.loadavg() },
      events: { total: eventIndex, byType: driver.counts },
      faults: { injected: faults?.injected.length ?? 0, byLabel: faults?.byLabel() ?? {}, list: faults?.injected ?? [], proxyRequests: proxyTotals.requests, proxyByStatus: proxyTotals.byStatus },
      operator: { processes: pool.lives, unexpectedExits: pool.unexpectedExits },
      rolls: { ...totals, newReplicaSets: oracle.newReplicaSets },
      checkpoints, violations,
      oracle: { gaps: oracle.gaps, harness: oracle.harness, coldStarts: windows.coldStarts, faultWindows: windows.faultWindows },
      memory, rss: pool.rss,
      logs: path.join(o.workDir, 'operator-logs'), eventLog: eventLogFile,
    };
  } finally {
    await pool?.stop();
    windows.stop();
    await oracle.stop();
    await proxy?.close();
    // Leave nothing behind in a shared control plane.
    for (const ns of [...(driver?.namespaceNames ?? []), ctl]) await kube.request('DELETE', `/api/v1/namespaces/${ns}`, undefined, 'application/json', () => true).catch(() => undefined);
    await kube.request('DELETE', `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${prefix}-operator`, undefined, 'application/json', () => true).catch(() => undefined);
    kube.close();
  }
}


interface Fences {
  configmaps: number;
  deployments: number;
  replicasets: number;
  leases: number;
}

/** Objects in the control namespace whose writes fence the oracle's four watches. */
async function createFences(kube: Kube, ns: string): Promise<void> {
  await kube.requestRetry('POST', `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'fence' } });
  const selector = { matchLabels: { fence: 'soak' } };
  const template = { metadata: { labels: { fence: 'soak' } }, spec: { containers: [{ name: 'c', image: 'registry.example/fence:1' }] } };
  await kube.requestRetry('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, { metadata: { name: 'fence' }, spec: { replicas: 0, selector, template } });
  await kube.requestRetry('POST', `/apis/apps/v1/namespaces/${ns}/replicasets`, {
    metadata: { name: 'fence-rs' }, spec: { replicas: 0, selector: { matchLabels: { fence: 'rs' } }, template: { ...template, metadata: { labels: { fence: 'rs' } } } },
  });
  await kube.requestRetry('POST', `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`, { metadata: { name: 'fence' }, spec: {} });
}

let fenceCount = 0;

async function touchFences(kube: Kube, ns: string): Promise<Fences> {
  const patch = { metadata: { annotations: { 'soak/fence': String(++fenceCount) } } };
  const rvOf = (r: { body: { metadata: { resourceVersion: string } } }) => Number(r.body.metadata.resourceVersion);
  type R = { metadata: { resourceVersion: string } };
  const [cm, d, rs, lease] = await Promise.all([
    kube.requestRetry<R>('PATCH', `/api/v1/namespaces/${ns}/configmaps/fence`, patch, 'application/merge-patch+json'),
    kube.requestRetry<R>('PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/fence`, patch, 'application/merge-patch+json'),
    kube.requestRetry<R>('PATCH', `/apis/apps/v1/namespaces/${ns}/replicasets/fence-rs`, patch, 'application/merge-patch+json'),
    kube.requestRetry<R>('PATCH', `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/fence`, patch, 'application/merge-patch+json'),
  ]);
  return { configmaps: rvOf(cm), deployments: rvOf(d), replicasets: rvOf(rs), leases: rvOf(lease) };
}

/**
 * Proves that the operator has processed every event it had received before the call (as the
 * e2e suite's sentinelRoll, without computing a digest): an opted-in Deployment requiring a
 * missing ConfigMap is held (a ConfigMapMissing Event, no write); then the ConfigMap is created
 * and the operator adopts the Deployment — a key queued after every earlier event's.
 */
async function sentinel(kube: Kube, ns: string, n: number, deadline: number): Promise<void> {
  const name = `sentinel-${n}`;
  await kube.requestRetry('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
    metadata: { name, annotations: { 'config-reload.dev/enabled': 'true' } },
    spec: {
      replicas: 0, selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'registry.example/s:1', envFrom: [{ configMapRef: { name: `${name}-cm` } }] }] } },
    },
  });
  await until(deadline, `ConfigMapMissing Event on ${ns}/${name}`, async () => {
    const res = await kube.request<{ items: Array<{ reason?: string }> }>('GET', `/api/v1/namespaces/${ns}/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${name}`)}`);
    return res.body.items.some((e) => e.reason === 'ConfigMapMissing');
  });
  await kube.requestRetry('POST', `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: `${name}-cm` }, data: { n: String(n) } });
  await until(deadline, `adoption of ${ns}/${name}`, async () => {
    const res = await kube.request<{ metadata: { annotations?: Record<string, string> } }>('GET', `/apis/apps/v1/namespaces/${ns}/deployments/${name}`);
    return res.body.metadata.annotations?.[HASH] !== undefined;
  });
  await kube.request('DELETE', `/apis/apps/v1/namespaces/${ns}/deployments/${name}`, undefined, 'application/json', () => true);
  await kube.request('DELETE', `/api/v1/namespaces/${ns}/configmaps/${name}-cm`, undefined, 'application/json', () => true);
}

async function until(deadline: number, what: string, probe: () => Promise<boolean>): Promise<void> {
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await pollInterval(250);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function memorySummary(rss: RssSample[]): MemorySummary[] {
  const byReplica = new Map<string, RssSample[]>();
  for (const s of rss) byReplica.set(s.replica, [...(byReplica.get(s.replica) ?? []), s]);
  return [...byReplica.entries()].map(([replica, samples]) => {
    const checkpoints = samples.filter((s) => s.phase === 'checkpoint');
    const q = checkpoints.map((s) => s.rssMiB);
    const heapUsedMiB = checkpoints.map((s) => s.heapUsedMiB ?? null);
    const peak = Math.max(...samples.map((s) => s.rssMiB));
    if (q.length < 3) return { replica, quiescentMiB: q, growthMiB: undefined, allowedMiB: undefined, peakMiB: peak, heapUsedMiB };
    const base = q[1] as number;
    const growth = Math.round(((q[q.length - 1] as number) - base) * 10) / 10;
    return { replica, quiescentMiB: q, growthMiB: growth, allowedMiB: Math.round(Math.max(0.25 * base, 48)), peakMiB: peak, heapUsedMiB };
  });
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}
