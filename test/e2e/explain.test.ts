// `config-reload-operator explain` on the testbed: each decision code a one-time read can reach,
// printed in text and in JSON, by the command as users run it (a child process with the
// testbed's kubeconfig) and as a kubectl plugin through the testbed's kubectl. Where an operator
// runs beside it, explain agrees with it: the digest the operator recorded is explain's current
// one, and a dry-run operator's would-be adoption and roll carry explain's digest.
import { RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { digestKey, sourceContent, workloadDigest as keyedWorkloadDigest } from '../../src/core/digest.ts';
import type { DecisionCode } from '../../src/core/types.ts';
import type { Explanation } from '../../src/explain/explanation.ts';
import { E2E_KEY_NAMESPACE } from './digest-key.ts';
import { testbed } from './hooks.ts';
import { namespaceWithOperator, operatorEntry } from './operator-process.ts';
import {
  clients, configMapContent, createConfigMap, createDeployment, createNamespace, deleteNamespace, deployment, ENABLED, HASH,
  podSpecWithVolume, readDeployment, recordedHash, rewriteConfigMap, secretContent, serviceAccountKubeconfig, waitForReplicaSets, workloadDigest,
} from './support.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env: { ...process.env, KUBECONFIG: testbed().kubeconfigPath, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `config-reload-operator explain TARGET -n NS` with the e2e harness's digest key. */
function explainCommand(ns: string, target: string, extra: string[] = [], env: Record<string, string> = {}): Promise<Run> {
  return run(process.execPath, [...operatorEntry(), 'explain', target, '-n', ns, '--digest-key-namespace', E2E_KEY_NAMESPACE, ...extra], env);
}

/** The decision section of the text output: its head line and the reason (unwrapped). */
function textDecision(text: string): { head: string; reason: string } {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.startsWith('Decision: '));
  expect(at, text).to.be.at.least(0);
  const reason: string[] = [];
  for (const line of lines.slice(at + 1)) {
    if (!line.startsWith('  ') || line.startsWith('  would record: ') || line.startsWith('  the operator says so')) break;
    reason.push(line.trim());
  }
  return { head: lines[at]!.slice('Decision: '.length), reason: reason.join(' ') };
}

/**
 * Runs explain in both formats (side by side), checks each exits 0 and prints the same decision
 * — code, action and reason — and returns the JSON.
 */
async function explainBoth(ns: string, target: string, extra: string[] = [], env: Record<string, string> = {}): Promise<{ json: Explanation; text: string }> {
  const [text, json] = await Promise.all([explainCommand(ns, target, extra, env), explainCommand(ns, target, [...extra, '-o', 'json'], env)]);
  expect(text.code, text.stderr).to.equal(0);
  expect(json.code, json.stderr).to.equal(0);
  const e = JSON.parse(json.stdout) as Explanation;
  const printed = textDecision(text.stdout);
  const head = e.decision.known ? `${e.decision.action} (${e.decision.code})` : e.decision.code !== null ? `${e.decision.code}, action unknown` : 'unknown';
  expect(printed.head).to.equal(head);
  expect(printed.reason).to.equal(e.decision.reason);
  if (e.decision.digest !== null) expect(text.stdout).to.contain(`would record: ${e.decision.digest}`);
  return { json: e, text: text.stdout };
}

async function expectDecision(ns: string, target: string, code: DecisionCode, action: 'none' | 'adopt' | 'roll', reason?: string): Promise<Explanation> {
  const { json } = await explainBoth(ns, target);
  expect(json.decision, target).to.deep.include({ known: true, code, action });
  if (reason !== undefined) expect(json.decision.reason).to.equal(reason);
  return json;
}

const OTHER_KEY = digestKey(Buffer.alloc(32, 0x5a));

describe('explain: each decision code on the testbed, no operator running', function () {
  let ns: string;
  before(async () => {
    ns = await createNamespace('explain');
    await createConfigMap(ns, 'app', { level: 'info', unused: 'x' });
  });
  after(async () => {
    if (ns) await deleteNamespace(ns);
  });
  const app = [{ name: 'app', optional: false, keys: null }];
  const appNow = () => configMapContent({ data: { level: 'info', unused: 'x' } });

  it('not_opted_in', async () => {
    await createDeployment(ns, deployment('plain', { podSpec: podSpecWithVolume('app') }));
    const e = await expectDecision(ns, 'deployment/plain', 'not_opted_in', 'none', 'not opted in');
    expect(e.optIn.state).to.equal('out');
  });

  it('malformed_annotation', async () => {
    await createDeployment(ns, deployment('bad', { annotations: { 'config-reload.dev/enabled': 'yes' }, podSpec: podSpecWithVolume('app') }));
    const e = await expectDecision(ns, 'deploy/bad', 'malformed_annotation', 'none');
    expect(e.decision.reason).to.contain('config-reload.dev/enabled="yes" is malformed');
    expect(e.optIn.malformed).to.deep.equal({ annotation: 'config-reload.dev/enabled', value: 'yes', problem: 'expected "true" or "false"' });
  });

  it('configmap_missing: adopts the digest of its absence, as the operator would', async () => {
    await createDeployment(ns, deployment('needs-cm', { annotations: ENABLED, podSpec: podSpecWithVolume('no-such-cm') }));
    const e = await expectDecision(ns, 'deployments/needs-cm', 'configmap_missing', 'adopt',
      'required ConfigMap no-such-cm missing: recorded digest without rolling; the workload rolls once it appears');
    expect(e.decision.digest).to.equal(workloadDigest([{ name: 'no-such-cm', optional: false, keys: null }], () => undefined));
    expect(e.sources[0]).to.deep.include({ kind: 'ConfigMap', name: 'no-such-cm', exists: false, optional: false });
  });

  it('secret_missing', async () => {
    const podSpec = { containers: [{ name: 'app', image: 'x', envFrom: [{ secretRef: { name: 'no-such-secret' } }] }] };
    await createDeployment(ns, deployment('needs-secret', { annotations: ENABLED, podSpec }));
    await expectDecision(ns, 'deploy/needs-secret', 'secret_missing', 'adopt',
      'required Secret no-such-secret missing: recorded digest without rolling; the workload rolls once it appears');
  });

  it('first_seen: shows the consumed objects, the keys that count and the digest it would record', async () => {
    const { core } = clients();
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'db' }, data: { password: Buffer.from('s3cr3t-marker').toString('base64'), user: Buffer.from('u').toString('base64') } } });
    const podSpec = {
      ...podSpecWithVolume('app'),
      containers: [{ name: 'app', image: 'x', env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }] }],
    };
    await createDeployment(ns, deployment('fresh', { annotations: ENABLED, podSpec }));
    const { json, text } = await explainBoth(ns, 'deployment/fresh');
    const expected = workloadDigest([...app, { kind: 'Secret', name: 'db', optional: false, keys: ['password'] }],
      (name, kind) => (kind === 'Secret' ? secretContent({ password: Buffer.from('s3cr3t-marker').toString('base64'), user: Buffer.from('u').toString('base64') }) : appNow()));
    expect(json.decision).to.deep.include({ known: true, action: 'adopt', code: 'first_seen', reason: 'first seen; recorded digest, no roll', digest: expected });
    expect(json.digests).to.deep.include({ recorded: null, current: expected, comparison: 'none_recorded' });
    expect(json.sources.map((s) => [s.kind, s.name, s.exists, s.countedKeys])).to.deep.equal([
      ['ConfigMap', 'app', true, ['level', 'unused']],
      ['Secret', 'db', true, ['password']],
    ]);
    expect(json.sources[1]!.references).to.deep.equal([{ via: 'env PASSWORD (container app)', keys: ['password'], optional: false }]);
    expect(text).to.match(/Secret\s+db\s+yes\s+required\s+password\s+env PASSWORD \(container app\)/);
    for (const out of [text, JSON.stringify(json)]) {
      expect(out).to.not.contain('s3cr3t-marker');
      expect(out).to.not.contain(Buffer.from('s3cr3t-marker').toString('base64'));
    }
  });

  it('format_upgrade', async () => {
    await createDeployment(ns, deployment('old-format', { annotations: { ...ENABLED, [HASH]: `v1-${'0'.repeat(64)}` }, podSpec: podSpecWithVolume('app') }));
    const e = await expectDecision(ns, 'deploy/old-format', 'format_upgrade', 'adopt', 'digest format v1 → v2: re-recorded without rolling');
    expect(e.digests.comparison).to.equal('other_format');
  });

  it('key_changed', async () => {
    const underOtherKey = keyedWorkloadDigest([{ kind: 'ConfigMap', ...app[0]! }], () => sourceContent('ConfigMap', { data: { level: 'info', unused: 'x' } }, OTHER_KEY), OTHER_KEY);
    await createDeployment(ns, deployment('other-key', { annotations: { ...ENABLED, [HASH]: underOtherKey }, podSpec: podSpecWithVolume('app') }));
    const e = await expectDecision(ns, 'deploy/other-key', 'key_changed', 'adopt',
      'the recorded digest was made with another digest key: re-recorded without rolling');
    expect(e.digests).to.deep.include({ recordedKeyId: OTHER_KEY.id, comparison: 'other_key' });
  });

  it('record_upgrade: a current digest recorded without a record (an earlier version) is completed, not rolled', async () => {
    const current = workloadDigest(app, appNow);
    await createDeployment(ns, deployment('current', { annotations: { ...ENABLED, [HASH]: current }, podSpec: podSpecWithVolume('app') }));
    const e = await expectDecision(ns, 'deploy/current', 'record_upgrade', 'adopt', 'digest recorded by an earlier version: record completed without rolling');
    expect(e.digests).to.deep.include({ recorded: current, current, comparison: 'equal' });
  });

  it('config_changed, with the template-order assumption said', async () => {
    const old = workloadDigest(app, () => configMapContent({ data: { level: 'debug', unused: 'x' } }));
    await createDeployment(ns, deployment('stale', { annotations: { ...ENABLED, [HASH]: old }, podSpec: podSpecWithVolume('app') }));
    const { json, text } = await explainBoth(ns, 'deploy/stale');
    expect(json.decision).to.deep.include({ known: true, action: 'roll', code: 'config_changed', reason: 'consumed configuration changed: rolling', digest: workloadDigest(app, appNow) });
    expect(json.assumptions.join(' ')).to.contain('template_changed');
    expect(text).to.contain('Assumptions\n  - When the pod template was last written');
  });

  it('StatefulSets and DaemonSets by their short names', async () => {
    const { apps } = clients();
    const template = { metadata: { labels: { app: 'x' } }, spec: podSpecWithVolume('app') as never };
    await apps.createNamespacedStatefulSet({ namespace: ns, body: {
      metadata: { name: 'db', annotations: ENABLED },
      spec: { serviceName: 'db', replicas: 0, selector: { matchLabels: { app: 'x' } }, template, updateStrategy: { type: 'OnDelete' } },
    } });
    await apps.createNamespacedDaemonSet({ namespace: ns, body: {
      metadata: { name: 'agent', annotations: ENABLED },
      spec: { selector: { matchLabels: { app: 'x' } }, template },
    } });
    const sts = await expectDecision(ns, 'sts/db', 'first_seen', 'adopt');
    expect(sts.workload).to.deep.include({ kind: 'StatefulSet', rollout: 'OnDelete' });
    const ds = await expectDecision(ns, 'ds/agent', 'first_seen', 'adopt');
    expect(ds.workload.kind).to.equal('DaemonSet');
  });

  it('the operator\'s watch filters and the ignore switch', async () => {
    const { core } = clients();
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'team-b', labels: { team: 'b' }, annotations: { 'config-reload.dev/ignore': 'true' } }, data: { k: 'v' } } });
    await createDeployment(ns, deployment('filtered', { annotations: ENABLED, podSpec: podSpecWithVolume('team-b') }));
    const { json, text } = await explainBoth(ns, 'deploy/filtered', ['--configmap-selector', 'team=a']);
    expect(json.decision).to.deep.include({ known: true, action: 'adopt', code: 'configmap_missing' });
    expect(json.sources[0]).to.deep.include({ exists: true, watched: false, notWatchedBecause: 'outside the operator\'s --configmap-selector "team=a"', ignored: true });
    expect(text).to.match(/ConfigMap\s+team-b\s+yes, unwatched\s+required/);
    const seen = await expectDecision(ns, 'deploy/filtered', 'first_seen', 'adopt');
    expect(seen.assumptions.join(' ')).to.contain('ConfigMap team-b carries config-reload.dev/ignore');
  });

  it('a workload that does not exist: exit 1, and which one', async () => {
    const r = await explainCommand(ns, 'deploy/nowhere');
    expect(r.code).to.equal(1);
    expect(r.stdout).to.equal('');
    expect(r.stderr.trim()).to.equal(`config-reload-operator explain: error: Deployment ${ns}/nowhere not found`);
  });
});

describe('explain: with the caller\'s permissions', function () {
  let ns: string;
  before(async () => {
    ns = await createNamespace('explain-rbac');
    const { core, kc } = clients();
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await createConfigMap(ns, 'app', { level: 'info' });
    await createDeployment(ns, deployment('web', { annotations: { ...ENABLED, [HASH]: workloadDigest([{ name: 'app', optional: false, keys: null }], () => configMapContent({ data: { level: 'info' } })) }, podSpec: podSpecWithVolume('app') }));
    // A developer who may read the workloads and ConfigMaps of the namespace, not the operator's key.
    for (const name of ['dev', 'nobody']) await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name } } });
    await rbac.createNamespacedRole({ namespace: ns, body: {
      metadata: { name: 'dev' },
      rules: [
        { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] },
        { apiGroups: [''], resources: ['configmaps'], verbs: ['get'] },
      ],
    } });
    await rbac.createNamespacedRoleBinding({ namespace: ns, body: {
      metadata: { name: 'dev' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'dev' },
      subjects: [{ kind: 'ServiceAccount', name: 'dev', namespace: ns }],
    } });
  });
  after(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it('cannot read the digest key: everything else is printed, the decision is unknown, the missing permission named', async () => {
    const kubeconfig = await serviceAccountKubeconfig(ns, 'dev');
    const { json, text } = await explainBoth(ns, 'deploy/web', [], { KUBECONFIG: kubeconfig });
    const permission = `get on secrets/config-reload-digest-key in namespace ${E2E_KEY_NAMESPACE}`;
    expect(json.decision).to.deep.include({ known: false, action: null, code: null, digest: null });
    expect(json.decision.reason).to.match(/^unknown: /).and.contain(permission);
    expect(json.digests).to.deep.include({ current: null, comparison: 'unknown' });
    expect(json.digests.key).to.deep.include({ state: 'unreadable', missingPermission: permission });
    expect(json.sources[0]).to.deep.include({ name: 'app', exists: true, countedKeys: ['level'] });
    expect(text).to.contain('Decision: unknown');
    expect(text).to.contain(`you need ${permission}`);
  });

  it('cannot read the workload: exit 1, naming the permission', async () => {
    const kubeconfig = await serviceAccountKubeconfig(ns, 'nobody');
    const r = await explainCommand(ns, 'deploy/web', [], { KUBECONFIG: kubeconfig });
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain(`cannot read Deployment ${ns}/web: you need get on deployments.apps/web in namespace ${ns}`);
  });
});

describe('explain: beside a running operator, the same decision', function () {
  const s = namespaceWithOperator('explain-op');
  const consumed = [{ name: 'app', optional: false, keys: null }];

  it('after adoption and after a roll: up_to_date, with the digest the operator wrote', async () => {
    await createConfigMap(s.ns, 'app', { level: 'info' });
    await createDeployment(s.ns, deployment('web', { annotations: ENABLED, podSpec: podSpecWithVolume('app') }));
    const adopted = await recordedHash(s.ns, 'web');
    let e = await expectDecision(s.ns, 'deploy/web', 'up_to_date', 'none');
    expect(e.digests).to.deep.include({ recorded: adopted, current: adopted, template: null });

    await rewriteConfigMap(s.ns, 'app', { level: 'debug' });
    const rolled = await waitForReplicaSets(s.ns, 'web', 2);
    const digest = rolled.spec?.template?.metadata?.annotations?.[HASH];
    expect(digest).to.equal(workloadDigest(consumed, () => configMapContent({ data: { level: 'debug' } })));
    e = await expectDecision(s.ns, 'deploy/web', 'up_to_date', 'none');
    expect(e.digests).to.deep.include({ recorded: digest, current: digest, template: digest });
    expect((await readDeployment(s.ns, 'web')).metadata?.annotations?.[HASH]).to.equal(digest);
  });
});

describe('explain: beside a dry-run operator, the same would-be adoption and roll', function () {
  const s = namespaceWithOperator('explain-dry', ['--dry-run']);
  const consumed = [{ name: 'app', optional: false, keys: null }];

  it('first_seen and config_changed carry the digest the operator would write', async () => {
    await createConfigMap(s.ns, 'app', { level: 'info' });
    await createDeployment(s.ns, deployment('new', { annotations: ENABLED, podSpec: podSpecWithVolume('app') }));
    const adopt = await s.op.waitForLog('would adopt new', (l) => l.message === 'would adopt' && l.workload === `Deployment/${s.ns}/new`);
    const first = await expectDecision(s.ns, 'deploy/new', 'first_seen', 'adopt', String(adopt.reason));
    expect(first.decision.digest).to.equal(adopt.newDigest);

    const old = workloadDigest(consumed, () => configMapContent({ data: { level: 'info' } }));
    await createDeployment(s.ns, deployment('adopted', { annotations: { ...ENABLED, [HASH]: old }, podSpec: podSpecWithVolume('app') }));
    await rewriteConfigMap(s.ns, 'app', { level: 'debug' });
    const roll = await s.op.waitForLog('would roll adopted', (l) => l.message === 'would roll' && l.workload === `Deployment/${s.ns}/adopted`);
    const e = await expectDecision(s.ns, 'deploy/adopted', 'config_changed', 'roll');
    expect(e.decision.digest).to.equal(roll.newDigest);
    expect(e.digests.recorded).to.equal(roll.oldDigest);
    // The operator watched the change and names it; a one-time read cannot.
    expect(roll.reason).to.equal('ConfigMap app changed: rolling');
    expect(e.decision.reason).to.equal('consumed configuration changed: rolling');
  });
});

describe('explain: as a kubectl plugin', function () {
  let ns: string;
  before(async () => {
    ns = await createNamespace('explain-plugin');
    await createConfigMap(ns, 'app', { level: 'info' });
    await createDeployment(ns, deployment('web', { annotations: ENABLED, podSpec: podSpecWithVolume('app') }));
  });
  after(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it('kubectl config-reload explain, with the launcher\'s directory on the PATH', async () => {
    const kubectl = testbed().kubectl;
    // kubectl passes every argument after the plugin's name, and the environment (KUBECONFIG).
    const env = { PATH: `${path.join(root, 'bin')}${path.delimiter}${process.env.PATH ?? ''}` };
    const args = ['config-reload', 'explain', 'deploy/web', '-n', ns, '--digest-key-namespace', E2E_KEY_NAMESPACE];
    const [text, json, list] = await Promise.all([run(kubectl, args, env), run(kubectl, [...args, '-o', 'json'], env), run(kubectl, ['plugin', 'list'], env)]);
    expect(list.stdout).to.contain(path.join(root, 'bin', 'kubectl-config_reload'));
    expect(text.code, text.stderr).to.equal(0);
    expect(json.code, json.stderr).to.equal(0);
    const e = JSON.parse(json.stdout) as Explanation;
    const expected = workloadDigest([{ name: 'app', optional: false, keys: null }], () => configMapContent({ data: { level: 'info' } }));
    expect(e.decision).to.deep.include({ known: true, action: 'adopt', code: 'first_seen', digest: expected });
    expect(textDecision(text.stdout)).to.deep.equal({ head: 'adopt (first_seen)', reason: 'first seen; recorded digest, no roll' });
    expect(text.stdout).to.match(new RegExp(`^Deployment ${ns}/web\\n`));

    const usage = await run(kubectl, ['config-reload', 'frob'], env);
    expect(usage.code).to.equal(2);
    expect(usage.stderr).to.contain('kubectl config-reload: unknown command "frob"');
  });
});
