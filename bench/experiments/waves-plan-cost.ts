// The CPU cost of planning waves, without a cluster: N Deployments share one ConfigMap on the
// in-memory API (test/support/fake-cluster.ts) and a virtual clock; the ConfigMap changes once
// and each roll is answered by a status write (progressing, then available), as the
// Deployment controller would. Wall time of the whole fan-out, with waves and without, per N:
// what the plan's rebuilds cost (every consumer event once rebuilt a plan that reads every
// consumer: N² in all).
//
//   npx tsx bench/experiments/waves-plan-cost.ts [--sizes 500,1000,2000] [--out FILE]
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { KubeObject } from '../../src/kube/cluster-api.ts';
import { NS, startSettled, testController } from '../../test/support/controller-harness.ts';
import { deploymentStatus, FakeCluster } from '../../test/support/fake-cluster.ts';
import { VirtualClock } from '../../test/support/virtual-clock.ts';

const { values } = parseArgs({ options: { sizes: { type: 'string' }, out: { type: 'string' } } });
const sizes = (values.sizes ?? '500,1000,2000').split(',').map(Number);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const out = values.out ?? path.join(repo, 'bench/results/waves/plan-cost.json');

/** Milliseconds from the ConfigMap change until all N rolled (each roll answered by its status). */
async function fanOut(n: number, threshold: number): Promise<{ rolled: number; ms: number }> {
  const names = Array.from({ length: n }, (_, i) => `web-${i}`);
  const clock = new VirtualClock();
  const cluster = new FakeCluster();
  cluster.autoDeliver = true;
  cluster.put('configmaps', { metadata: { name: 'shared', namespace: NS }, data: { a: '1' } } as KubeObject);
  for (const name of names) {
    cluster.put('deployments', {
      metadata: { name, namespace: NS, annotations: { 'config-reload.dev/enabled': 'true' } },
      spec: { replicas: 1, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'app:1', envFrom: [{ configMapRef: { name: 'shared' } }] }] } } },
    } as KubeObject);
  }
  const status = (name: string, available: boolean) => cluster.writeStatus('deployments', NS, name, (g) => deploymentStatus(available ? 'healthy' : 'progressing', g));
  for (const name of names) status(name, true);
  const controller = testController({ api: cluster, clock, debounceMs: 0, waveThreshold: threshold, waveTimeoutMs: 600_000 });
  const settle = await startSettled(controller, clock);
  const t0 = performance.now();
  cluster.update('configmaps', NS, 'shared', (cm) => void ((cm as Record<string, unknown>)['data'] = { a: '2' }));
  await settle();
  const done = new Set<string>();
  for (let round = 0; round < 50 && done.size < n; round++) {
    const rolled = cluster.writes.filter((w) => w.by === 'operator' && w.templateChanged).map((w) => w.name).filter((name) => !done.has(name));
    for (const name of rolled) {
      status(name, false);
      done.add(name);
    }
    await settle();
    for (const name of rolled) status(name, true);
    await settle();
  }
  const ms = Math.round(performance.now() - t0);
  await controller.stop();
  return { rolled: done.size, ms };
}

const rows: Array<{ n: number; atOnceMs: number; wavesMs: number; rolled: number }> = [];
for (const n of sizes) {
  const atOnce = await fanOut(n, 0);
  const waves = await fanOut(n, 5);
  rows.push({ n, atOnceMs: atOnce.ms, wavesMs: waves.ms, rolled: Math.min(atOnce.rolled, waves.rolled) });
  process.stderr.write(`[waves-plan-cost] N ${n}: at once ${atOnce.ms} ms, in waves ${waves.ms} ms (rolled ${atOnce.rolled} / ${waves.rolled})\n`);
}
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ at: new Date().toISOString(), node: process.version, rows }, null, 2)}\n`);
process.stderr.write(`[waves-plan-cost] wrote ${out}\n`);
