// The README's install and first-use commands, run as written on the testbed: the blocks between
// <!-- e2e:NAME begin --> and <!-- e2e:NAME end --> in README.md are extracted and run by bash
// in the repository's root, in the order a reader runs them. The chart installs; the Deployment
// opted in as the README shows is adopted, then rolled exactly once by the ConfigMap change
// (counted by ReplicaSets), with the ConfigChanged Event the README names; the inspection
// commands show both; `explain` as written prints the lines the README shows.
//
// What differs on the testbed, and only that:
//  - `REGISTRY/config-reload-operator` becomes the placeholder image of manifests/: kwok runs
//    no container, so no image is pulled.
//  - The namespaces `config-reload-system` and `shop` get a random suffix: other tests on the
//    same control plane use `config-reload-system` (and may leave it terminating).
//  - The operator: the chart's Deployment runs on kwok nodes, which execute nothing, so the
//    operator runs as a local process with the installed Deployment's arguments (but
//    --http-addr, a free port here) and a token of the chart's ServiceAccount, exactly as
//    test/e2e/helm.test.ts does.
//  - The commands find the testbed's kubectl and helm first on PATH, KUBECONFIG names the
//    testbed's, helm keeps its cache and config in a scratch directory, and the kubectl plugin
//    is the one file the README points to, built by `npm run build:plugin`'s script into a
//    scratch directory on PATH. explain's default key namespace is `config-reload-system`,
//    renamed here: CONFIG_RELOAD_DIGEST_KEY_NAMESPACE says so.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { testbed } from './hooks.ts';
import { OperatorProcess } from './operator-process.ts';
import {
  clients, deleteNamespace, HASH, readDeployment, recordedHash, replicaSetsOf, serviceAccountKubeconfig, waitFor, waitForReplicaSets,
} from './support.ts';
import { scratchDir } from '../scratch-dir.ts';
import { chartTools, helmEnv, type K8sObject, operatorContainer, PLACEHOLDER_IMAGE_REPOSITORY, ROOT } from '../support/chart.ts';

const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The text of the fenced block between the README's e2e markers of that name. */
function readmeBlock(name: string): string {
  const m = new RegExp(`<!-- e2e:${name} begin -->\\n\`\`\`[a-z]*\\n([\\s\\S]*?)\\n\`\`\`\\n<!-- e2e:${name} end -->`).exec(README);
  if (!m) throw new Error(`README.md has no <!-- e2e:${name} begin --> … <!-- e2e:${name} end --> around a fenced block`);
  return m[1]!;
}

const suffix = randomBytes(3).toString('hex');
const OPERATOR_NS = `cro-readme-${suffix}`;
const SHOP_NS = `shop-readme-${suffix}`;
/** The README's release name: the chart's objects get the names of manifests/. */
const FULLNAME = 'config-reload-operator';

/** A README block with the testbed's substitutions (and nothing else). */
function onTestbed(block: string): string {
  return block
    .replaceAll('REGISTRY/config-reload-operator', PLACEHOLDER_IMAGE_REPOSITORY)
    .replace(/\bconfig-reload-system\b/g, OPERATOR_NS)
    .replace(/\bshop\b/g, SHOP_NS);
}

describe('README: the install and first-use commands, as written', () => {
  let env: NodeJS.ProcessEnv;
  let op: OperatorProcess | undefined;
  let installed = false;

  /** Runs a README block by bash; its stdout (a failure throws with both streams). */
  function runBlock(name: string): string {
    const script = onTestbed(readmeBlock(name));
    try {
      return execFileSync('bash', ['-euo', 'pipefail', '-c', script], { cwd: ROOT, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      const e = err as { status?: number; stdout?: string; stderr?: string };
      throw new Error(`README block ${name} failed (exit ${e.status}):\n${script}\n--- stdout\n${e.stdout ?? ''}--- stderr\n${e.stderr ?? ''}`);
    }
  }

  before(async function () {
    this.timeout(75 * 60_000); // a cold testbed build includes helm
    const { helm } = await chartTools();
    // The kubectl plugin as a user installs it: the one bundled file, alone in a PATH directory.
    const pluginDir = scratchDir('readme-plugin');
    execFileSync('bash', [path.join(ROOT, 'scripts', 'build-plugin.sh'), path.join(pluginDir, 'kubectl-config_reload')], { cwd: ROOT, stdio: 'ignore' });
    env = helmEnv({
      PATH: [path.dirname(testbed().kubectl), path.dirname(helm), pluginDir, process.env.PATH ?? ''].join(path.delimiter),
      KUBECONFIG: testbed().kubeconfigPath,
    });
  });

  after(async function () {
    this.timeout(120_000);
    await op?.stop();
    if (installed) {
      try {
        execFileSync('helm', ['uninstall', FULLNAME, '-n', OPERATOR_NS, '--wait', '--timeout', '2m'], { env, stdio: 'ignore' });
      } catch {
        // the namespace's deletion below takes what is left of it
      }
    }
    await deleteNamespace(SHOP_NS);
    await deleteNamespace(OPERATOR_NS);
  });

  it('1. the Helm install commands install the chart, its pods admitted under the restricted Pod Security Standard', async () => {
    runBlock('install');
    installed = true;
    const ns = await clients().core.readNamespace({ name: OPERATOR_NS });
    expect(ns.metadata?.labels?.['pod-security.kubernetes.io/enforce']).to.equal('restricted');
    const d = await waitFor('the operator Deployment available', async () => {
      const got = await clients().apps.readNamespacedDeployment({ namespace: OPERATOR_NS, name: FULLNAME });
      return (got.status?.availableReplicas ?? 0) === (got.spec?.replicas ?? -1) ? got : undefined;
    });
    expect(d.spec?.template?.spec?.containers?.[0]?.image).to.match(new RegExp(`^${PLACEHOLDER_IMAGE_REPOSITORY}:`));

    // The operator as the chart runs it (kwok executes nothing): its arguments, its ServiceAccount.
    const args = (operatorContainer(d as unknown as K8sObject).args ?? []).filter((a) => !a.startsWith('--http-addr'));
    const kubeconfig = await serviceAccountKubeconfig(OPERATOR_NS, FULLNAME);
    op = await OperatorProcess.start({
      args: ['--kubeconfig', kubeconfig, ...args],
      // Its key in its own namespace, as in its pod (the harness's default is the tests' known key).
      env: { KUBECONFIG: '', POD_NAME: 'readme-quickstart', POD_NAMESPACE: OPERATOR_NS, CONFIG_RELOAD_DIGEST_KEY_NAMESPACE: OPERATOR_NS },
    });
    await op.waitForLog('leadership', (l) => l.message === 'became leader: starting workers once synced');
  });

  it('2. the workload opted in as the README shows is adopted: its digest recorded, nothing rolled', async () => {
    runBlock('workload');
    await recordedHash(SHOP_NS, 'web');
    await waitForReplicaSets(SHOP_NS, 'web', 1);
    await op!.waitForLog('adopted', (l) => l.message === 'adopted' && l.workload === `Deployment/${SHOP_NS}/web`);
  });

  it('3. the ConfigMap change rolls it exactly once, with a ConfigChanged Event; the inspection commands show both', async () => {
    const adopted = (await readDeployment(SHOP_NS, 'web')).metadata?.annotations?.[HASH];
    runBlock('change');
    const rolled = await waitForReplicaSets(SHOP_NS, 'web', 2);
    await op!.waitForLog('rolled', (l) => l.message === 'rolled' && l.workload === `Deployment/${SHOP_NS}/web`);
    expect(rolled.metadata?.annotations?.[HASH]).to.not.equal(adopted);
    expect(rolled.spec?.template?.metadata?.annotations?.[HASH]).to.equal(rolled.metadata?.annotations?.[HASH]);
    // Once: the adoption rolled nothing (else a third ReplicaSet), the change one roll.
    expect(await replicaSetsOf(SHOP_NS, 'web')).to.have.length(2);
    const writes = op!.decisions(`Deployment/${SHOP_NS}/web`).filter((l) => l.message === 'rolled' || l.message === 'adopted').map((l) => l.message);
    expect(writes).to.deep.equal(['adopted', 'rolled']);
    await waitFor('the ConfigChanged Event', async () => {
      const list = await clients().core.listNamespacedEvent({ namespace: SHOP_NS, fieldSelector: 'involvedObject.name=web' });
      return list.items.find((e) => e.reason === 'ConfigChanged' && e.type === 'Normal');
    });

    const shown = runBlock('inspect');
    expect(shown.split('\n').filter((l) => l.startsWith('web-')), 'kubectl get replicasets: the rows of web').to.have.length(2);
    expect(shown).to.match(/Normal\s+ConfigChanged\s+.*ConfigMap app-config changed: rolling/);
  });

  it('4. explain as written prints what the README shows: opted in, up to date', () => {
    env = { ...env, CONFIG_RELOAD_DIGEST_KEY_NAMESPACE: OPERATOR_NS };
    const out = runBlock('explain');
    const expected = onTestbed(readmeBlock('explain-output')).split('\n').filter((l) => l.trim() !== '…');
    expect(expected.length, 'the README shows explain\'s output').to.be.greaterThan(2);
    const lines = out.split('\n');
    for (const line of expected) expect(lines, `explain prints ${JSON.stringify(line)}`).to.include(line);
  });
});
