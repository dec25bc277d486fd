// `npm run demo`: the operator at work on a local control plane, for a newcomer with no cluster.
// Starts the test control plane and the operator (as its own process, as users run it),
// creates a ConfigMap and an opted-in Deployment, shows the adoption (no roll), changes the
// ConfigMap and shows the rollout that follows with real `kubectl` output. Everything it
// started is stopped and removed at the end — also on Ctrl-C or an error (exit code non-zero).
import { AppsV1Api, CoreV1Api, type V1Deployment, type V1Pod, type V1ReplicaSet } from '@kubernetes/client-node';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ControlPlane } from '../testbed/controlplane.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NS = 'default';
const APP = 'web';
const CM = 'app-config';
const HASH = 'config-reload.dev/config-hash';

const MANIFEST = `apiVersion: v1
kind: ConfigMap
metadata: {name: ${CM}}
data: {LOG_LEVEL: info, app.properties: "greeting=hello"}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${APP}
  annotations: {config-reload.dev/enabled: "true"}          # opt in
spec:
  replicas: 2
  minReadySeconds: 2                                        # paces the rollout so you can watch it
  selector: {matchLabels: {app: ${APP}}}
  template:
    metadata: {labels: {app: ${APP}}}
    spec:
      containers:
      - name: app
        image: registry.example/web:1
        envFrom: [{configMapRef: {name: ${CM}}}]             # consumes ${CM} as env
        volumeMounts: [{name: config, mountPath: /etc/app}]
      volumes:
      - {name: config, configMap: {name: ${CM}}}             # ...and as files
`;
const CHANGE = '{"data":{"LOG_LEVEL":"debug"}}';

// ---- output ---------------------------------------------------------------------------------

const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
const paint = (code: string) => (s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
const bold = paint('1');
const dim = paint('2');
const cyan = paint('36');
const red = paint('31');
const green = paint('32');

const t0 = Date.now();
const secs = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;
const out = (text = '') => process.stdout.write(`${text}\n`);
const indent = (text: string, by = '  ') => text.trimEnd().split('\n').map((l) => (l.trim() ? `${by}${l}` : '')).join('\n');
const say = (text: string) => out(indent(text));
let stepNo = 0;
const STEPS = 6;
const step = (title: string) => {
  stepNo += 1;
  out();
  out(bold(`[${stepNo}/${STEPS}] ${title}`));
};
const shortDigests = (s: string) => s.replace(/\b(v2-[0-9a-f]{8}-[0-9a-f]{10})[0-9a-f]{20,}/g, '$1…');

// ---- cleanup, on every path out ---------------------------------------------------------------

let cp: ControlPlane | undefined;
let cpStarting: Promise<ControlPlane> | undefined;
let operator: OperatorProcess | undefined;
let aborting = false;
let cleaning: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    aborting = true;
    const done: string[] = [];
    if (operator) {
      await operator.stop();
      done.push('operator stopped');
    }
    // Interrupted while the control plane was starting: let it finish (a few seconds warm), then stop it.
    if (!cp && cpStarting) {
      cp = await Promise.race([cpStarting.catch(() => undefined), sleep(20_000).then(() => undefined)]);
      if (!cp) done.push('control plane start aborted');
    }
    if (cp) {
      try {
        await cp.stop();
        done.push(`control plane stopped, ${cp.dir} removed`);
      } catch (err) {
        out(red(`could not stop the control plane cleanly (${String(err)}); its processes are killed on exit`));
        process.exitCode = 1;
      }
    }
    if (done.length > 0) out(dim(`Cleaned up: ${done.join('; ')}.`));
  })();
  return cleaning;
}

let signalledAt = 0;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    // A second Ctrl-C: leave now. The exit hooks SIGKILL every child; the testbed's reaper
    // removes its directory. (Within the first second it is the same Ctrl-C relayed by tsx.)
    if (signalledAt > 0) {
      if (Date.now() - signalledAt > 1000) process.exit(130);
      return;
    }
    signalledAt = Date.now();
    out();
    out(red(`${sig}: stopping the demo and cleaning up…`));
    void cleanup().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  });
}
// Run as `npm run demo`, a signal sent to npm alone may not reach us: if our parent goes away,
// clean up as if interrupted rather than run on unowned.
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid && !aborting) void cleanup().finally(() => process.exit(1));
}, 1000).unref();
process.on('exit', () => operator?.kill());

// ---- the operator as its own process --------------------------------------------------------

interface LogLine {
  time: string;
  level: string;
  message: string;
  fields: string;
  raw: string;
}

/** Lines worth showing a newcomer: decisions and anything going wrong. */
const SHOWN = new Set(['adopted', 'rolled', 'would adopt', 'would roll']);

/** The caller's environment without operator settings (a CONFIG_RELOAD_DRY_RUN=true would stall the demo). */
function demoEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CONFIG_RELOAD_') && k !== 'KUBECONFIG'));
}

class OperatorProcess {
  readonly lines: LogLine[] = [];
  readonly #child: ChildProcess;
  readonly #exited: Promise<string>;
  #listeners: Array<() => void> = [];

  constructor(kubeconfig: string) {
    this.#child = spawn(process.execPath, [
      '--import', 'tsx', 'src/main.ts', '--kubeconfig', kubeconfig, '--log-format', 'text', '--http-addr', '127.0.0.1:0',
    ], { cwd: root, env: demoEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
    if (this.#child.stderr) {
      const lines = createInterface({ input: this.#child.stderr, crlfDelay: Infinity });
      lines.on('line', (raw) => this.#line(raw));
      // readline re-emits a pipe's errors; a child's dying pipe is seen as its exit instead.
      lines.on('error', () => {});
    }
    this.#exited = new Promise((resolve) => {
      this.#child.on('exit', (code, signal) => resolve(signal ? `killed by ${signal}` : `exit code ${code}`));
      this.#child.on('error', (err) => resolve(`could not start: ${err.message}`));
    });
  }

  #line(raw: string): void {
    // <ISO timestamp> <LEVEL> <message> key=value …
    const m = /^(\S+)\s+([A-Z]+)\s+(.*?)(?:\s+([\w.]+=.*))?$/.exec(raw);
    const line: LogLine = m
      ? { time: m[1] ?? '', level: m[2] ?? '', message: m[3] ?? '', fields: m[4] ?? '', raw }
      : { time: '', level: '', message: raw, fields: '', raw };
    this.lines.push(line);
    if (SHOWN.has(line.message) || line.level === 'WARN' || line.level === 'ERROR' || !m) {
      const time = /T(\d\d:\d\d:\d\d)/.exec(line.time)?.[1] ?? '';
      const text = m ? `${time} ${line.level.padEnd(5)} ${line.message} ${line.fields}` : raw;
      out(cyan(`  operator │ ${shortDigests(text).trimEnd()}`));
    }
    for (const l of this.#listeners) l();
  }

  /** The first line (seen or future) matching `pred`; fails if the operator exits first. */
  waitFor(what: string, pred: (l: LogLine) => boolean, timeoutMs: number): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.lines.find(pred);
        if (hit) finish(() => resolve(hit));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`timed out after ${timeoutMs / 1000} s waiting for the operator to log ${what}\n${this.tail()}`))), timeoutMs);
      const finish = (then: () => void) => {
        clearTimeout(timer);
        this.#listeners = this.#listeners.filter((l) => l !== check);
        then();
      };
      this.#listeners.push(check);
      void this.#exited.then((how) => {
        if (this.#listeners.includes(check)) finish(() => reject(new Error(`the operator exited (${how}) before it logged ${what}\n${this.tail()}`)));
      });
      check();
    });
  }

  tail(n = 15): string {
    return `--- last operator log lines ---\n${this.lines.slice(-n).map((l) => l.raw).join('\n')}`;
  }

  /** SIGTERM (a graceful shutdown), SIGKILL if it lingers. */
  async stop(): Promise<void> {
    const c = this.#child;
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
      await this.#exited;
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }
}

// ---- kubectl ---------------------------------------------------------------------------------

function kubectl(args: string[], stdin?: string): Promise<string> {
  const c = cp as ControlPlane;
  return new Promise((resolve, reject) => {
    const child = execFile(c.bins.kubectl, args, {
      // Its discovery cache goes with the control plane's directory, not into ~/.kube.
      env: { ...process.env, KUBECONFIG: c.kubeconfigPath, KUBECACHEDIR: path.join(c.dir, 'kubectl-cache') },
      timeout: 30_000,
    }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kubectl ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

const GET = ['get', 'rs,pods', '-o', 'wide'];

function printKubectl(args: string[], output: string, note = ''): void {
  const display = args.map((a) => (/[\s"{}]/.test(a) ? `'${a}'` : a)).join(' ');
  out(`  ${dim('$')} kubectl ${display}${note ? `   ${dim(note)}` : ''}`);
  if (output.trim()) out(indent(output, '    '));
}

async function showKubectl(args: string[], stdin?: string): Promise<void> {
  printKubectl(args, await kubectl(args, stdin));
}

/** A `kubectl get` output without what changes by itself (the AGE column, the padding). */
const withoutAges = (output: string) => output.replace(/(?<=\s)\d+[smhd](\d+[smhd])?(?=\s)/g, '').replace(/[ \t]+/g, ' ');

// ---- cluster state ---------------------------------------------------------------------------

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (aborting) throw new Error('aborted');
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
}

interface State {
  deployment: V1Deployment;
  replicaSets: V1ReplicaSet[];
  pods: V1Pod[];
}

async function readState(apps: AppsV1Api, core: CoreV1Api): Promise<State> {
  const [deployment, rs, pods] = await Promise.all([
    apps.readNamespacedDeployment({ name: APP, namespace: NS }),
    apps.listNamespacedReplicaSet({ namespace: NS, labelSelector: `app=${APP}` }),
    core.listNamespacedPod({ namespace: NS, labelSelector: `app=${APP}` }),
  ]);
  return { deployment, replicaSets: rs.items, pods: pods.items };
}

const revision = (rs: V1ReplicaSet) => Number(rs.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? 0);
const podReady = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/** The newest ReplicaSet has every replica ready, every other one is at 0, and only its pods remain. */
function settled(s: State, replicaSets: number): { current: V1ReplicaSet; old: V1ReplicaSet[] } | undefined {
  const d = s.deployment;
  const want = d.spec?.replicas ?? 1;
  const st = d.status;
  if (!st || (st.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) return undefined;
  if (st.updatedReplicas !== want || st.replicas !== want || st.availableReplicas !== want) return undefined;
  if (s.replicaSets.length !== replicaSets) return undefined;
  const sorted = [...s.replicaSets].sort((a, b) => revision(b) - revision(a));
  const [current, ...old] = sorted;
  if (!current || current.status?.readyReplicas !== want) return undefined;
  if (old.some((rs) => (rs.spec?.replicas ?? 0) !== 0 || (rs.status?.replicas ?? 0) !== 0)) return undefined;
  const hash = current.metadata?.labels?.['pod-template-hash'];
  const pods = s.pods;
  if (pods.length !== want || pods.some((p) => p.metadata?.deletionTimestamp || p.metadata?.labels?.['pod-template-hash'] !== hash || !podReady(p))) return undefined;
  return { current, old };
}

// ---- the demo --------------------------------------------------------------------------------

async function main(): Promise<void> {
  out(bold('config-reload-operator demo'));
  say(`A Deployment opts in with an annotation; when a ConfigMap it consumes changes, the operator
rolls it. Everything below runs on this machine and is removed at the end (Ctrl-C stops early).`);

  step('Start a local Kubernetes control plane');
  say(`etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok (one fake node that
"runs" pods without containers), on 127.0.0.1. The first run ever builds them (~10 min).`);
  let tStep = Date.now();
  // Its progress lines are left out; a failure to start says what went wrong, with log tails.
  cpStarting = ControlPlane.start({ nodes: 1, log: () => undefined });
  cp = await cpStarting;
  if (aborting) throw new Error('aborted');
  say(green(`ready in ${secs(tStep)}`) + dim(` — kubectl below runs with KUBECONFIG=${cp.kubeconfigPath}`));
  const kc = cp.kubeConfig();
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);

  step('Start the operator');
  say(`As you would run it: ${dim('npm start -- --kubeconfig $KUBECONFIG --log-format text')}
Its log lines about our Deployment show up below as "operator │ …". It keeps its digest key in
namespace config-reload-system (its default outside a cluster), which must exist.`);
  await showKubectl(['create', 'namespace', 'config-reload-system']);
  tStep = Date.now();
  operator = new OperatorProcess(cp.kubeconfigPath);
  await operator.waitFor('that its workers started', (l) => l.message === 'resync' && l.fields.includes('why=start'), 60_000);
  say(green(`watching Deployments and ConfigMaps (ready in ${secs(tStep)})`));

  step('Create a ConfigMap and a Deployment that opts in');
  say(`The Deployment consumes ${CM} twice: as environment variables (envFrom) and as files (a volume).`);
  out(indent(dim(MANIFEST), '    '));
  await showKubectl(['apply', '-f', '-'], MANIFEST);

  step('The operator adopts the Deployment: nothing restarts');
  await operator.waitFor('"adopted"', (l) => l.message === 'adopted' && l.fields.includes(`workload=Deployment/${NS}/${APP}`), 30_000);
  const ready = await waitFor('the Deployment\'s first rollout', async () => {
    const s = await readState(apps, core);
    return s.deployment.metadata?.annotations?.[HASH] && settled(s, 1) ? s : undefined;
  }, 60_000);
  if (ready.deployment.spec?.template?.metadata?.annotations?.[HASH] !== undefined) {
    throw new Error('adoption wrote the pod template: it must only record the digest on the metadata');
  }
  say(`It hashed the consumed data of ${CM} and recorded the digest in the Deployment's own
metadata (${HASH}: ${shortDigests(ready.deployment.metadata?.annotations?.[HASH] ?? '')}).
The pod template is untouched, so there is still one ReplicaSet and its two pods:`);
  await showKubectl(GET);

  step(`Change the ConfigMap`);
  tStep = Date.now();
  await showKubectl(['patch', 'configmap', CM, '--type', 'merge', '-p', CHANGE]);
  await operator.waitFor('"rolled"', (l) => l.message === 'rolled' && l.fields.includes(`workload=Deployment/${NS}/${APP}`), 30_000);
  say(`After a 1 s debounce (a burst of changes rolls once), the operator wrote the new digest into the
pod template (spec.template.metadata.annotations). A changed template is what makes Kubernetes
roll: a new ReplicaSet scales up while the old one scales down — the usual rolling update.`);

  step('Watch the rollout');
  say(`One new pod at a time: the new ReplicaSet goes 1 → 2 while the old one goes 2 → 1 → 0
(minReadySeconds: 2 paces each step). Printed whenever something changed:`);
  const tRoll = Date.now();
  let last = '';
  let shown = 0;
  let done: ReturnType<typeof settled>;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (aborting) throw new Error('aborted');
    if (Date.now() > deadline) throw new Error(`the rollout did not complete within 60 s\n${cp.logTails(10)}`);
    // The state first: once settled nothing changes any more, so the output that follows shows it.
    done = settled(await readState(apps, core), 2);
    const at = secs(tRoll);
    const output = await kubectl(GET);
    if (withoutAges(output) !== last && (shown < 6 || done)) {
      last = withoutAges(output);
      shown += 1;
      printKubectl(GET, output, `(+${at})`);
    }
    if (done) break;
    await sleep(300);
  }
  const name = (rs: V1ReplicaSet) => rs.metadata?.name ?? '?';
  say(green(`Rollout complete ${secs(tStep)} after the change: ${name(done.current)} has 2 ready pods, `
    + `${done.old.map(name).join(', ')} is at 0, the old pods are gone.`));
  say(`The operator never touched a pod: it patched one annotation, Kubernetes did the rest.`);
}

let code = 0;
try {
  await main();
} catch (err) {
  if (!aborting) {
    code = 1;
    out();
    out(red(`demo failed: ${err instanceof Error ? err.message : String(err)}`));
  }
}
if (!aborting) {
  out();
  await cleanup();
  if (process.exitCode) code = Number(process.exitCode);
  out(code === 0 ? bold(`Done in ${secs(t0)}.`) : red(`Failed after ${secs(t0)}.`));
  process.exit(code);
}
