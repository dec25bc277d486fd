// Once per e2e run (mocha's global setup, which runs in the main process, also with --parallel,
// before the workers are forked): checks the two file groups, builds the operator's bundle and
// starts the control plane. Workers learn where both are from the environment they inherit
// (CRO_E2E_TESTBED, CRO_E2E_BUNDLE); test/e2e/hooks.ts reads it back.
//
// With USE_EXISTING_CLUSTER=true (the envtest convention) the tests run against the cluster
// KUBECONFIG names instead, and no control plane is started.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { ControlPlane } from '../../testbed/controlplane.ts';
import { scratchDir } from '../scratch-dir.ts';
import { installE2eDigestKey } from './digest-key.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** What a worker needs to reach the run's cluster (serialised into CRO_E2E_TESTBED). */
export interface TestbedInfo {
  kubeconfigPath: string;
  /** The apiserver's URL (from the kubeconfig's current cluster). */
  server: string;
  /** kubectl: the testbed's own build, or the one on PATH for an existing cluster. */
  kubectl: string;
  /** The apiserver's audit log of every request on Secrets (local control plane only). */
  secretsAuditLog: string | undefined;
  /** The control plane's component logs (local control plane only), for a failed test's report. */
  logsDir: string | undefined;
}

// What the operator asks of Secrets is part of its contract (helm release Secrets are never
// listed or watched): the local apiserver records every request on them.
const SECRETS_AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
    resources: [{group: "", resources: ["secrets"]}]
  - level: None
`;

let controlPlane: ControlPlane | undefined;

/**
 * The control plane object, in the process that started it: the serial group's (mocha without
 * --parallel runs the tests in this process). Undefined in a parallel worker and for an existing cluster.
 */
export function ownControlPlane(): ControlPlane | undefined {
  return controlPlane;
}

export async function mochaGlobalSetup(): Promise<void> {
  checkFileGroups();
  process.env.CRO_E2E_BUNDLE = buildBundleOnce();
  if (process.env.USE_EXISTING_CLUSTER === 'true') {
    const kubeconfigPath = process.env.KUBECONFIG;
    if (!kubeconfigPath) throw new Error('e2e: USE_EXISTING_CLUSTER=true needs KUBECONFIG to name the cluster');
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    publish({ kubeconfigPath, server: kc.getCurrentCluster()?.server ?? '', kubectl: 'kubectl', secretsAuditLog: undefined, logsDir: undefined });
    await installE2eDigestKey(kc);
    return;
  }
  const auditDir = scratchDir('audit');
  const policy = path.join(auditDir, 'policy.yaml');
  const secretsAuditLog = path.join(auditDir, 'secrets.log');
  writeFileSync(policy, SECRETS_AUDIT_POLICY);
  // A cold build of the control plane runs here when nothing is cached (tens of minutes).
  controlPlane = await ControlPlane.start({
    nodes: 2,
    apiServerFlags: [`--audit-policy-file=${policy}`, `--audit-log-path=${secretsAuditLog}`, '--audit-log-maxsize=0'],
  });
  publish({
    kubeconfigPath: controlPlane.kubeconfigPath, server: controlPlane.server, kubectl: controlPlane.bins.kubectl,
    secretsAuditLog, logsDir: path.join(controlPlane.dir, 'logs'),
  });
  await installE2eDigestKey(controlPlane.kubeConfig());
}

export async function mochaGlobalTeardown(): Promise<void> {
  await controlPlane?.stop();
  controlPlane = undefined;
}

function publish(info: TestbedInfo): void {
  process.env.CRO_E2E_TESTBED = JSON.stringify(info);
}

/**
 * The operator as the image runs it: scripts/build.sh's bundle, built once per run. CRO_E2E_BUNDLE
 * names the file; when it exists already (test/run.sh's second e2e invocation) it is reused, else
 * it is built there (default: a scratch directory removed at exit).
 */
function buildBundleOnce(): string {
  const wanted = process.env.CRO_E2E_BUNDLE;
  if (wanted && existsSync(wanted)) return wanted;
  const out = wanted ? path.dirname(wanted) : path.join(scratchDir('bundle'), 'dist');
  mkdirSync(path.dirname(out), { recursive: true });
  const t0 = Date.now();
  execFileSync('bash', [path.join(root, 'scripts/build.sh'), out], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  process.stderr.write(`[e2e] operator bundle built in ${Date.now() - t0} ms: ${out}/main.js\n`);
  return path.join(out, 'main.js');
}

/**
 * The parallel group (test/mocharc.e2e.json's spec) is exactly the serial group's ignore list
 * (test/mocharc.e2e-serial.json), and every file named exists: a file is run once, and a new
 * file runs in the serial group until it is listed as isolated.
 */
export function checkFileGroups(): void {
  const parallel = mocharc('test/mocharc.e2e.json').spec ?? [];
  const ignored = mocharc('test/mocharc.e2e-serial.json').ignore ?? [];
  const missing = [...parallel, ...ignored].filter((f) => !existsSync(path.join(root, f)));
  const onlyOne = [...parallel.filter((f) => !ignored.includes(f)), ...ignored.filter((f) => !parallel.includes(f))];
  if (missing.length > 0 || onlyOne.length > 0) {
    throw new Error(`e2e file groups: test/mocharc.e2e.json's spec must equal test/mocharc.e2e-serial.json's ignore list; `
      + `files not found: ${JSON.stringify(missing)}; listed in only one of the two: ${JSON.stringify(onlyOne)}`);
  }
}

/** A mocharc JSON file; its comments (mocha allows them) are whole lines starting with //. */
function mocharc(file: string): { spec?: string[]; ignore?: string[] } {
  const text = readFileSync(path.join(root, file), 'utf8').split('\n').filter((l) => !l.trim().startsWith('//')).join('\n');
  return JSON.parse(text) as { spec?: string[]; ignore?: string[] };
}
