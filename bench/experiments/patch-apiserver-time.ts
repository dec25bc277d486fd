// How long the apiserver takes over the operator's merge patch of a Deployment (its audit log:
// request received → response complete), two variants alternating in a random order on one
// Deployment of a fresh control plane (issue 24, point 4: the current code's PATCH looked a
// little slower inside the apiserver than aaff2a2's, bench/results/reaction-200/README.md):
//   --compare transport: the same patch over node:https (HTTP/1.1, keep-alive; the operator's
//                        client since f16e6ac) and over undici (HTTP/2; its client before)
//   --compare body:      over node:https, aaff2a2's patch (the hash, on metadata and template)
//                        against the current one (plus the record annotation and the uid precondition)
//
//   npx tsx bench/experiments/patch-apiserver-time.ts [--compare transport|body] [--patches 150]
import { readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'undici';
import { startCluster } from '../lib/cluster.ts';
import { deployment, podSpec } from '../lib/objects.ts';
import { percentile } from '../lib/stats.ts';
import { round1, sleep } from '../lib/util.ts';

const { values: v } = parseArgs({ options: { compare: { type: 'string' }, patches: { type: 'string' } } });
const compare = v.compare ?? 'transport';
if (compare !== 'transport' && compare !== 'body') throw new Error('--compare: transport or body');
const n = Number(v.patches ?? 150);
const work = path.join(os.tmpdir(), `cro-patch-time-${process.pid}`);
const cl = await startCluster(work, path.resolve(import.meta.dirname, '../..'), () => undefined);
try {
  const kubeconfig = readFileSync(cl.operatorKubeconfig, 'utf8');
  const token = /^\s*token: (\S+)$/m.exec(kubeconfig)?.[1] ?? '';
  const ca = Buffer.from(/certificate-authority-data: (\S+)/.exec(kubeconfig)?.[1] ?? '', 'base64');
  const server = new URL(/server: (\S+)/.exec(kubeconfig)?.[1] ?? '');
  const d = deployment('probe', podSpec([]), { 'config-reload.dev/enabled': 'true' });
  await cl.admin.requestRetry('POST', '/apis/apps/v1/namespaces/default/deployments', { ...d, metadata: { ...(d.metadata as object), namespace: 'default' } });
  const url = '/apis/apps/v1/namespaces/default/deployments/probe?fieldManager=config-reload-operator';
  const headers = (agent: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/merge-patch+json', accept: 'application/json', 'user-agent': agent });
  let uid = '';
  const hash = (i: number) => ({ 'config-reload.dev/config-hash': `v2-bench-${i}` });
  const plain = (i: number) => ({ metadata: { annotations: hash(i) }, spec: { template: { metadata: { annotations: hash(i) } } } });
  const current = (i: number) => ({
    metadata: { uid, annotations: { ...hash(i), 'config-reload.dev/record': `${'f'.repeat(64)}@${i};ConfigMap/cfg=${'0'.repeat(16)}` } },
    spec: { template: { metadata: { annotations: hash(i) } } },
  });
  const agent = new https.Agent({ keepAlive: true, ca });
  const h2 = new Client(server.origin, { allowH2: true, connect: { ca } });
  const viaHttps = (ua: string, body: object) => new Promise<void>((resolve, reject) => {
    const text = JSON.stringify(body);
    const req = https.request({ host: server.hostname, port: server.port, path: url, method: 'PATCH', agent, headers: { ...headers(ua), 'content-length': Buffer.byteLength(text) } }, (res) => {
      let answer = '';
      res.on('data', (c: Buffer) => (answer += c.toString()));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`${ua}: ${res.statusCode}`));
        uid = (JSON.parse(answer) as { metadata: { uid: string } }).metadata.uid;
        resolve();
      });
    });
    req.on('error', reject);
    req.end(text);
  });
  const viaUndici = async (ua: string, body: object) => {
    const res = await h2.request({ path: url, method: 'PATCH', body: JSON.stringify(body), headers: headers(ua) });
    await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${ua}: ${res.statusCode}`);
  };
  const variants: Array<[string, (i: number) => Promise<void>]> = compare === 'transport'
    ? [['node:https HTTP/1.1', (i) => viaHttps('node:https HTTP/1.1', current(i))], ['undici HTTP/2', (i) => viaUndici('undici HTTP/2', current(i))]]
    : [['aaff2a2 patch', (i) => viaHttps('aaff2a2 patch', plain(i))], ['current patch', (i) => viaHttps('current patch', current(i))]];
  await viaHttps('warm-up', plain(-1));
  for (let i = 0; i < n; i++) {
    for (const [, send] of Math.random() < 0.5 ? variants : [...variants].reverse()) await send(i);
    await sleep(50);
  }
  await sleep(1000);
  const micros = (ts: string) => Date.parse(ts.replace(/\.\d+Z$/, 'Z')) * 1000 + Number((/\.(\d+)Z$/.exec(ts)?.[1] ?? '').padEnd(6, '0').slice(0, 6));
  const ms = new Map<string, number[]>(variants.map(([name]) => [name, []]));
  for (const line of readFileSync(cl.auditLog, 'utf8').split('\n')) {
    if (!line.includes('"patch"')) continue;
    const e = JSON.parse(line) as { userAgent?: string; verb: string; stage: string; requestReceivedTimestamp: string; stageTimestamp: string };
    if (e.verb === 'patch' && e.stage === 'ResponseComplete') ms.get(e.userAgent ?? '')?.push((micros(e.stageTimestamp) - micros(e.requestReceivedTimestamp)) / 1000);
  }
  const out = Object.fromEntries([...ms].map(([name, xs]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return [name, { n: xs.length, p50: round1(percentile(sorted, 50)), p90: round1(percentile(sorted, 90)), max: round1(sorted[sorted.length - 1] ?? NaN) }];
  }));
  process.stdout.write(`${JSON.stringify({ compare, patches: n, loadavg: os.loadavg()[0], inApiserverMs: out })}\n`);
  await h2.close();
  agent.destroy();
} finally {
  await cl.stop();
  rmSync(work, { recursive: true, force: true });
}
process.exit(0);
