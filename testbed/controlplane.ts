// The test control plane: etcd → kube-apiserver → kube-controller-manager → kube-scheduler →
// kwok with fake nodes, on free loopback ports in a fresh temporary directory. With them a
// Deployment rolls for real: a new ReplicaSet, new pods Running, the old ones gone.
//
//   const cp = await ControlPlane.start({ nodes: 1 });
//   cp.kubeconfigPath  // cluster-admin credentials
//   await cp.restartApiServer();
//   await cp.stop();  // no process and no directory left behind
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, type V1Node } from '@kubernetes/client-node';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ensureBinaries, type ControlPlaneBinaries } from './assets.ts';
import { makeCerts, type TestbedCerts } from './certs.ts';
import { killAllSync, ManagedProcess } from './process.ts';
import { startReaper } from './reaper.ts';

export interface ControlPlaneOptions {
  /** Fake kwok nodes to create (default 1). */
  nodes?: number;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
  /** Extra kube-apiserver flags, e.g. for benchmarks. */
  apiServerFlags?: string[];
}

interface Ports {
  etcd: number;
  etcdPeer: number;
  api: number;
  kcm: number;
  scheduler: number;
  kwok: number;
}

const CONTROLLERS = [
  'deployment-controller', 'replicaset-controller', 'garbage-collector-controller',
  'namespace-controller', 'serviceaccount-controller', 'statefulset-controller', 'daemonset-controller',
  // Type-checks ValidatingAdmissionPolicies into their status (the chart's: test/e2e/admission-policy.test.ts).
  'validatingadmissionpolicy-status-controller',
];

let exitHooksInstalled = false;
function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', killAllSync);
}

export class ControlPlane {
  readonly dir: string;
  readonly kubeconfigPath: string;
  readonly server: string;
  readonly bins: ControlPlaneBinaries;
  #certs: TestbedCerts;
  #ports: Ports;
  #procs: { etcd: ManagedProcess; api: ManagedProcess; kcm: ManagedProcess; scheduler: ManagedProcess; kwok: ManagedProcess };
  #apiServerFlags: string[];
  #log: (line: string) => void;
  #stopped = false;
  #clientsStarted = false;
  #replicas: Array<{ proc: ManagedProcess; port: number }> = [];

  private constructor(bins: ControlPlaneBinaries, dir: string, ports: Ports, opts: ControlPlaneOptions) {
    this.bins = bins;
    this.dir = dir;
    this.#ports = ports;
    this.#log = opts.log ?? ((line) => process.stderr.write(`[testbed] ${line}\n`));
    this.#apiServerFlags = opts.apiServerFlags ?? [];
    this.#certs = makeCerts(dir);
    this.server = `https://127.0.0.1:${ports.api}`;
    this.kubeconfigPath = path.join(dir, 'kubeconfig');
    writeFileSync(this.kubeconfigPath, this.#kubeconfigYaml());
    const logs = path.join(dir, 'logs');
    mkdirSync(logs);
    const pidFile = path.join(dir, 'pids');
    const proc = (name: string) => new ManagedProcess(name, path.join(logs, `${name}.log`), pidFile);
    this.#procs = {
      etcd: proc('etcd'), api: proc('kube-apiserver'), kcm: proc('kube-controller-manager'),
      scheduler: proc('kube-scheduler'), kwok: proc('kwok'),
    };
    startReaper(process.pid, pidFile, dir);
  }

  static async start(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
    // A port taken between its choice and a component's bind fails that start: try afresh.
    for (let attempt = 1; ; attempt++) {
      try {
        return await ControlPlane.#startOnce(opts);
      } catch (err) {
        if (attempt >= 3 || !String((err as Error).message).includes('address already in use')) throw err;
        process.stderr.write(`[testbed] a port was taken before its component bound it: starting again on other ports (${attempt + 1} of 3)\n`);
      }
    }
  }

  static async #startOnce(opts: ControlPlaneOptions): Promise<ControlPlane> {
    installExitHooks();
    const bins = await ensureBinaries();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cro-testbed-'));
    const ports: Ports = {
      etcd: await freePort(), etcdPeer: await freePort(), api: await freePort(),
      kcm: await freePort(), scheduler: await freePort(), kwok: await freePort(),
    };
    let cp: ControlPlane;
    try {
      cp = new ControlPlane(bins, dir, ports, opts);
    } catch (err) {
      // Certificates are made in the constructor, before the reaper watches the directory.
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    try {
      await cp.#startAll(opts.nodes ?? 1);
      return cp;
    } catch (err) {
      await cp.stop();
      throw err;
    }
  }

  /** A client configuration with cluster-admin credentials. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromFile(this.kubeconfigPath);
    return kc;
  }

  /** SIGTERM (graceful, the default) or SIGKILL (a crash). */
  async stopApiServer(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.#procs.api.stop(5000, signal);
  }

  async startApiServer(): Promise<void> {
    this.#procs.api.start(this.bins.kubeApiserver, this.#apiServerArgs(this.#ports.api, path.join(this.dir, 'apiserver-certs'), true));
    await this.#procs.api.waitUntil('ready (/readyz)', () => this.#apiReady(), 90_000);
    // After an apiserver restart, kube-controller-manager v1.36 has been seen to keep a silent
    // pod watch for minutes (its replicaset controller then refuses to act: "read version ...
    // is not as new as written version"). These components are the testbed, not the subject
    // under test, so restart them: the testbed's own rollouts stay prompt, while the operator
    // under test is left to recover by itself.
    if (this.#clientsStarted) {
      const p = this.#procs;
      await Promise.all([p.kwok.stop(), p.scheduler.stop(), p.kcm.stop()]);
      await this.#startClients();
    }
  }

  /**
   * Stops etcd (SIGTERM, or SIGKILL for a crash) and starts it again on the same data; resolves
   * once the apiserver is ready again on it (it reconnects by itself, as in production).
   */
  async restartEtcd(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.#procs.etcd.stop(5000, signal);
    await this.#startEtcd();
    await this.#procs.api.waitUntil('ready again after the etcd restart (/readyz)', () => this.#apiReady(), 90_000);
    for (const r of this.#replicas) {
      if (r.proc.running) await r.proc.waitUntil('ready again after the etcd restart (/readyz)', () => this.#apiReady(r.port), 90_000);
    }
  }

  /**
   * A second kube-apiserver on the same etcd (as in an HA control plane), with extra flags, e.g.
   * `--watch-cache=false`: such a replica serves every watch from etcd, so after compactEtcd() a
   * watch resuming from an older resourceVersion is answered 410 Gone at once (the main
   * apiserver's watch cache keeps serving the versions it holds). Stopped with the control plane.
   */
  async startApiServerReplica(flags: string[]): Promise<{ server: string; stop: () => Promise<void> }> {
    const port = await freePort();
    const n = this.#replicas.length + 1;
    const proc = new ManagedProcess(`kube-apiserver-${n}`, path.join(this.dir, 'logs', `kube-apiserver-${n}.log`), path.join(this.dir, 'pids'));
    const args = this.#apiServerArgs(port, path.join(this.dir, `apiserver-${n}-certs`), false);
    proc.start(this.bins.kubeApiserver, [...args, ...flags]);
    const replica = { proc, port };
    this.#replicas.push(replica);
    await proc.waitUntil('ready (/readyz)', () => this.#apiReady(port), 90_000);
    return {
      server: `https://127.0.0.1:${port}`,
      stop: async () => {
        await proc.stop();
        this.#replicas = this.#replicas.filter((r) => r !== replica);
      },
    };
  }

  /**
   * Compacts etcd's history up to its current revision (physically), as the apiserver's own
   * compactor does every few minutes: a watch or a continue token from an older resourceVersion
   * is then answered 410 Gone (for resources the watch cache does not serve, and by the cache
   * once it has seen the compaction). Returns the revision compacted at.
   */
  async compactEtcd(): Promise<number> {
    const base = this.#etcdUrl;
    const post = async (p: string, body: unknown) => {
      const res = await fetch(`${base}${p}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      const text = await res.text();
      if (!res.ok) throw new Error(`etcd ${p}: HTTP ${res.status}: ${text.slice(0, 300)}`);
      return JSON.parse(text) as Record<string, unknown>;
    };
    // Any range answers with the store's current revision in its header.
    const range = await post('/v3/kv/range', { key: Buffer.from([0]).toString('base64') });
    const revision = Number((range.header as { revision?: string } | undefined)?.revision);
    if (!Number.isSafeInteger(revision) || revision <= 0) throw new Error(`etcd: no current revision in ${JSON.stringify(range).slice(0, 300)}`);
    await post('/v3/kv/compaction', { revision: String(revision), physical: true });
    this.#log(`etcd compacted at revision ${revision}`);
    return revision;
  }

  async restartApiServer(): Promise<void> {
    await this.stopApiServer();
    await this.startApiServer();
  }

  /** Logs of every component, for a failed test's report. */
  logTails(lines = 15): string {
    return [...Object.values(this.#procs), ...this.#replicas.map((r) => r.proc)].map((p) => p.tail(lines)).join('\n');
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const p = this.#procs;
    // Reverse order of start: clients first, etcd last.
    await Promise.all([p.kwok.stop(), p.scheduler.stop(), p.kcm.stop()]);
    await Promise.all(this.#replicas.map((r) => r.proc.stop()));
    await p.api.stop();
    await p.etcd.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  async #startAll(nodes: number): Promise<void> {
    const t0 = Date.now();
    const p = this.#procs;
    await this.#startEtcd();
    this.#log(`etcd healthy (${Date.now() - t0} ms)`);

    await this.startApiServer();
    this.#log(`kube-apiserver ready at ${this.server} (${Date.now() - t0} ms)`);

    await this.#startClients();

    const core = this.kubeConfig().makeApiClient(CoreV1Api);
    for (let i = 0; i < nodes; i++) {
      const name = `kwok-node-${i}`;
      await core.createNode({ body: fakeNode(name) });
      // Admission taints every new node not-ready; the node-lifecycle controller that would lift
      // it is not run here (its evictions would only add noise), so lift it once, as it would.
      await core.patchNode({ name, body: { spec: { taints: null } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    }
    await p.kwok.waitUntil(`made ${nodes} node(s) Ready`, async () => {
      const list = await core.listNode();
      const ready = list.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      return ready.length >= nodes;
    }, 60_000);
    // Pods are admitted only once the namespace's default ServiceAccount exists.
    await p.kcm.waitUntil('created the default ServiceAccount', async () => {
      await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
      return true;
    }, 60_000);
    this.#log(`control plane ready with ${nodes} kwok node(s) in ${Date.now() - t0} ms`);
  }

  async #startClients(): Promise<void> {
    const p = this.#procs;
    const kubeconfig = `--kubeconfig=${this.kubeconfigPath}`;
    p.kcm.start(this.bins.kubeControllerManager, [
      kubeconfig, `--controllers=${CONTROLLERS.join(',')}`, '--leader-elect=false',
      '--bind-address=127.0.0.1', `--secure-port=${this.#ports.kcm}`,
      '--kube-api-qps=200', '--kube-api-burst=400', '--concurrent-deployment-syncs=10',
      '--concurrent-replicaset-syncs=10',
    ]);
    p.scheduler.start(this.bins.kubeScheduler, [
      kubeconfig, '--leader-elect=false', '--bind-address=127.0.0.1', `--secure-port=${this.#ports.scheduler}`,
      '--kube-api-qps=200', '--kube-api-burst=400',
    ]);
    p.kwok.start(this.bins.kwok, [
      kubeconfig, `--config=${this.bins.kwokStages}`,
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      `--server-address=127.0.0.1:${this.#ports.kwok}`, '--node-ip=127.0.0.1',
    ]);
    await p.kcm.waitUntil('healthy', () => httpsOk(this.#ports.kcm, '/healthz'), 60_000);
    await p.scheduler.waitUntil('healthy', () => httpsOk(this.#ports.scheduler, '/healthz'), 60_000);

    this.#clientsStarted = true;
  }

  get #etcdUrl(): string {
    return `http://127.0.0.1:${this.#ports.etcd}`;
  }

  async #startEtcd(): Promise<void> {
    const etcdUrl = this.#etcdUrl;
    this.#procs.etcd.start(this.bins.etcd, [
      `--data-dir=${path.join(this.dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`, `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${this.#ports.etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${this.#ports.etcdPeer}`,
      `--initial-cluster=default=http://127.0.0.1:${this.#ports.etcdPeer}`,
      '--unsafe-no-fsync', '--quota-backend-bytes=8589934592', '--log-level=warn',
    ]);
    await this.#procs.etcd.waitUntil('healthy', async () => {
      const res = await fetch(`${etcdUrl}/health`);
      return res.ok && ((await res.json()) as { health?: string }).health === 'true';
    }, 30_000);
  }

  /** `withOptionFlags`: the flags given at start (audit, benchmarks) are the main apiserver's only. */
  #apiServerArgs(port: number, certDir: string, withOptionFlags: boolean): string[] {
    const c = this.#certs;
    return [
      `--etcd-servers=http://127.0.0.1:${this.#ports.etcd}`,
      '--advertise-address=127.0.0.1', '--bind-address=127.0.0.1', `--secure-port=${port}`,
      `--cert-dir=${certDir}`,
      `--tls-cert-file=${c.servingCert}`, `--tls-private-key-file=${c.servingKey}`,
      `--client-ca-file=${c.caCert}`,
      `--service-account-issuer=${this.server}`,
      `--service-account-key-file=${c.saPub}`, `--service-account-signing-key-file=${c.saKey}`,
      '--service-cluster-ip-range=10.0.0.0/24', '--allow-privileged=true',
      '--authorization-mode=RBAC', '--endpoint-reconciler-type=none',
      ...(withOptionFlags ? this.#apiServerFlags : []),
    ];
  }

  async #apiReady(port = this.#ports.api): Promise<boolean> {
    const c = this.#certs;
    return new Promise((resolve) => {
      const req = request({
        host: '127.0.0.1', port, path: '/readyz', method: 'GET', timeout: 2000,
        ca: readFileSync(c.caCert), cert: readFileSync(c.adminCert), key: readFileSync(c.adminKey),
      }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
      req.end();
    });
  }

  #kubeconfigYaml(): string {
    const b64 = (file: string) => readFileSync(file).toString('base64');
    const c = this.#certs;
    return `apiVersion: v1
kind: Config
clusters:
- name: testbed
  cluster:
    server: ${this.server}
    certificate-authority-data: ${b64(c.caCert)}
users:
- name: testbed-admin
  user:
    client-certificate-data: ${b64(c.adminCert)}
    client-key-data: ${b64(c.adminKey)}
contexts:
- name: testbed
  context: {cluster: testbed, user: testbed-admin}
current-context: testbed
`;
  }
}

function fakeNode(name: string): V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', type: 'kwok' },
    },
  };
}

/**
 * A port free now, below Linux's ephemeral range (32768-60999): a port the kernel hands out for
 * port 0 is also what it hands to outgoing connections, and one of those (an operator, a test, the
 * other e2e group's control plane starting at the same moment) took a component's port between
 * its choice and its bind. Chosen at random, so that two control planes rarely pick alike.
 */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await bindable(port)) return port;
  }
  throw new Error('testbed: no free port found in 20000-31999');
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** The component's /healthz over HTTPS; its serving certificate is self-signed. */
function httpsOk(port: number, urlPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: urlPath, rejectUnauthorized: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
