// The installation's digest key (src/kube/digest-key.ts): made by the first start when its Secret
// does not exist and shared by every later replica and restart; put back by the leader when the
// Secret is deleted while a replica runs; made anew when it is deleted while none runs, which
// re-records every workload without rolling; a v1 digest re-recorded as v2
// without rolling; a bad --digest-key-file refused at start-up; a key that cannot be loaded yet
// keeps the operator not ready, retrying, until it can. "Nothing rolled" is always proven with a
// sentinel roll before ReplicaSets are counted.
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DigestKey } from '../../src/core/digest.ts';
import { scratchDir } from '../scratch-dir.ts';
import { E2E_KEY_SECRET } from './digest-key.ts';
import { type LogLine, OperatorProcess } from './operator-process.ts';
import {
  clients, configMapContent, createConfigMap, createDeployment, createNamespace, deleteNamespace, deployment, digestsUnder,
  ENABLED, grantRole, HASH, httpGet, isSentinel, metricValue, podSpecWithVolume, readDeployment, readDigestKeySecret,
  recordedHash, replicaSetsOf, rewriteConfigMap, sentinelRoll, sentinelRollUnder, narrowServiceAccountKubeconfig, waitFor,
  waitForReplicaSets, workloadDigest,
} from './support.ts';

const KEY_LOADED = 'digest key loaded';
const KEY_CREATED = 'created a new digest key: digests recorded under another key will be re-recorded without rolling';
const KEY_NOT_LOADED = 'cannot load the digest key: not ready, retrying';
const KEY_CHANGED_REASON = 'the recorded digest was made with another digest key: re-recorded without rolling';

const keyLoaded = (op: OperatorProcess): Promise<LogLine> => op.waitForLog(KEY_LOADED, (l) => l.message === KEY_LOADED);
const keysCreated = (op: OperatorProcess): LogLine[] => op.logs.filter((l) => l.message === KEY_CREATED);
const templateHash = async (ns: string, name: string) => (await readDeployment(ns, name)).spec?.template?.metadata?.annotations?.[HASH];
const workloadLines = (op: OperatorProcess, ns: string, name: string, message: string) =>
  op.logs.filter((l) => l.message === message && l.workload === `Deployment/${ns}/${name}`);

/** The whole digest of `consumed` ConfigMaps (whole objects, required) under `key`. */
function digestOf(key: DigestKey, data: Record<string, Record<string, string>>): string {
  const d = digestsUnder(key);
  const consumed = Object.keys(data).map((name) => ({ name, optional: false, keys: null }));
  return d.workloadDigest(consumed, (name) => d.configMapContent({ data: data[name] ?? {} }));
}

/** Nothing the operator wrote (stdout or stderr) holds the key, in base64 or hex. */
function expectNoKeyMaterial(ops: OperatorProcess[], bytes: Buffer): void {
  const output = ops.flatMap((op) => [...op.stderr, ...op.stdout]).join('\n');
  expect(output.length, 'some output to search').to.be.greaterThan(0);
  expect(output).to.not.contain(bytes.toString('base64').replace(/=+$/, ''));
  expect(output.toLowerCase()).to.not.contain(bytes.toString('hex'));
}

describe('digest key management', () => {
  const namespaces: string[] = [];
  const ops: OperatorProcess[] = [];
  const fresh = async (prefix: string): Promise<string> => {
    const ns = await createNamespace(prefix);
    namespaces.push(ns);
    return ns;
  };
  const start = async (...args: Parameters<typeof OperatorProcess.start>): Promise<OperatorProcess> => {
    const op = await OperatorProcess.start(...args);
    ops.push(op);
    return op;
  };

  afterEach(async () => {
    await Promise.all(ops.splice(0).map((op) => op.stop('SIGKILL')));
  });
  after(async () => {
    await Promise.all(namespaces.map((ns) => deleteNamespace(ns)));
  });

  it('1. no key Secret: the first start makes it; two replicas and a restart use that one key; nothing rolls', async () => {
    const ns = await fresh('keys-first');
    const keyNs = await fresh('keys-first-key');
    await createConfigMap(ns, 'first-cm', { v: '1' });
    await createDeployment(ns, deployment('first', { annotations: ENABLED, podSpec: podSpecWithVolume('first-cm') }));
    await waitForReplicaSets(ns, 'first', 1);

    // Two replicas started at once both find no key: exactly one makes it, the other uses it
    // (after a 409 on its own create, or because its read came later).
    const env = { CONFIG_RELOAD_DIGEST_KEY_NAMESPACE: keyNs };
    const replica = (id: string) => start({
      args: ['--namespace', ns, '--leader-elect', '--leader-election-namespace', ns, '--leader-election-id', 'keys-lease'],
      env: { ...env, POD_NAME: id }, waitFor: 'spawned',
    });
    const [a, b] = await Promise.all([replica('replica-a'), replica('replica-b')]);
    const [loadedA, loadedB] = await Promise.all([keyLoaded(a), keyLoaded(b)]);
    expect(loadedA.keyId).to.match(/^[0-9a-f]{8}$/);
    expect(loadedB.keyId, 'both replicas use one key').to.equal(loadedA.keyId);
    expect(loadedA.secret).to.equal(`${keyNs}/${E2E_KEY_SECRET}`);
    const created = [...keysCreated(a), ...keysCreated(b)];
    expect(created, 'one replica made the key').to.have.length(1);
    expect(created[0]).to.include({ level: 'warn', secret: `${keyNs}/${E2E_KEY_SECRET}` });

    const { secret, bytes, key } = await readDigestKeySecret(keyNs);
    expect(secret.type).to.equal('Opaque');
    expect(Object.keys(secret.data ?? {})).to.deep.equal(['key']);
    expect(bytes, '32 random bytes').to.have.length(32);
    expect(key.id, 'the key id logged is the Secret key\'s').to.equal(loadedA.keyId);

    // The leader adopts with that key: the digest a correct operator computes from the data.
    const expected = digestOf(key, { 'first-cm': { v: '1' } });
    expect(expected.startsWith(`v2-${loadedA.keyId}-`)).to.equal(true);
    expect(await recordedHash(ns, 'first')).to.equal(expected);
    await sentinelRollUnder(key, ns);
    expect(await replicaSetsOf(ns, 'first'), 'adoption rolled nothing').to.have.length(1);
    expect(await templateHash(ns, 'first')).to.equal(undefined);
    expect(await a.stop()).to.equal(0);
    expect(await b.stop()).to.equal(0);

    // A restart reads the same key: same id, no new key, nothing re-recorded, nothing rolled.
    const c = await start({ args: ['--namespace', ns], env });
    expect((await keyLoaded(c)).keyId).to.equal(loadedA.keyId);
    expect(keysCreated(c)).to.have.length(0);
    await sentinelRollUnder(key, ns);
    expect(await replicaSetsOf(ns, 'first'), 'the restart rolled nothing').to.have.length(1);
    expect((await readDeployment(ns, 'first')).metadata?.annotations?.[HASH]).to.equal(expected);
    expect([...workloadLines(c, ns, 'first', 'adopted'), ...workloadLines(c, ns, 'first', 'rolled')]).to.have.length(0);
    const after = await readDigestKeySecret(keyNs);
    expect(after.secret.metadata?.uid, 'the key Secret was not replaced').to.equal(secret.metadata?.uid);
    expect(after.bytes.equals(bytes)).to.equal(true);
    expectNoKeyMaterial([a, b, c], bytes);
    expect(await c.stop()).to.equal(0);
  });

  it('2. the key Secret deleted: a restart makes a new key, re-records every workload without rolling; the next change rolls once', async () => {
    const ns = await fresh('keys-lost');
    const keyNs = await fresh('keys-lost-key');
    const env = { CONFIG_RELOAD_DIGEST_KEY_NAMESPACE: keyNs };
    const { core } = clients();
    await createConfigMap(ns, 'a-cm', { v: '1' });
    await createConfigMap(ns, 'b-cm', { v: '1' });
    const pw = (text: string) => ({ password: Buffer.from(text).toString('base64') });
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 's-secret' }, data: pw('one') } });
    await createDeployment(ns, deployment('rolled', { annotations: ENABLED, podSpec: podSpecWithVolume('a-cm') }));
    await createDeployment(ns, deployment('kept', { annotations: ENABLED, podSpec: podSpecWithVolume('b-cm') }));
    await createDeployment(ns, deployment('secret-user', {
      annotations: ENABLED,
      podSpec: { containers: [{ name: 'app', image: 'registry.example/app:1', envFrom: [{ secretRef: { name: 's-secret' } }] }] },
    }));
    for (const n of ['rolled', 'kept', 'secret-user']) await waitForReplicaSets(ns, n, 1);

    /** Every workload's digest under `key`, for the current data. */
    const digests = (key: DigestKey, aData: Record<string, string>, secretData: Record<string, string>) => {
      const d = digestsUnder(key);
      return {
        rolled: digestOf(key, { 'a-cm': aData }),
        kept: digestOf(key, { 'b-cm': { v: '1' } }),
        'secret-user': d.workloadDigest([{ kind: 'Secret', name: 's-secret', optional: false, keys: null }], () => d.secretContent(secretData)),
      };
    };

    const first = await start({ args: ['--namespace', ns], env });
    await keyLoaded(first);
    const key1 = (await readDigestKeySecret(keyNs)).key;
    for (const [n, digest] of Object.entries(digests(key1, { v: '1' }, pw('one')))) {
      await waitFor(`${n} adopted under the first key`, async () => ((await readDeployment(ns, n)).metadata?.annotations?.[HASH] === digest ? true : undefined));
    }
    await rewriteConfigMap(ns, 'a-cm', { v: '2' });
    await waitForReplicaSets(ns, 'rolled', 2);
    const rolledTemplate = digests(key1, { v: '2' }, pw('one')).rolled;
    expect(await templateHash(ns, 'rolled')).to.equal(rolledTemplate);
    expect(await first.stop()).to.equal(0);

    await core.deleteNamespacedSecret({ namespace: keyNs, name: E2E_KEY_SECRET });
    const second = await start({ args: ['--namespace', ns], env });
    const loaded = await keyLoaded(second);
    expect(loaded.keyId).to.not.equal(key1.id);
    expect(keysCreated(second), 'the new key is said').to.have.length(1);
    expect(keysCreated(second)[0]?.level).to.equal('warn');
    const { key: key2, bytes: bytes2 } = await readDigestKeySecret(keyNs);
    expect(key2.id).to.equal(loaded.keyId);

    // Every workload is re-recorded under the new key (its metadata digest changes key id) ...
    const under2 = digests(key2, { v: '2' }, pw('one'));
    for (const [n, digest] of Object.entries(under2)) {
      expect(digest.startsWith(`v2-${key2.id}-`)).to.equal(true);
      await waitFor(`${n} re-recorded under the new key`, async () => ((await readDeployment(ns, n)).metadata?.annotations?.[HASH] === digest ? true : undefined));
      const line = await second.waitForLog(`adopted ${n}`, (l) => l.message === 'adopted' && l.workload === `Deployment/${ns}/${n}`);
      expect(line.reason).to.equal(KEY_CHANGED_REASON);
      expect(String(line.oldDigest).startsWith(`v2-${key1.id}-`)).to.equal(true);
    }
    // ... without a roll: the template digests stay, no ReplicaSet is made.
    await sentinelRollUnder(key2, ns);
    expect(await templateHash(ns, 'rolled')).to.equal(rolledTemplate);
    expect(await templateHash(ns, 'kept')).to.equal(undefined);
    expect(await templateHash(ns, 'secret-user')).to.equal(undefined);
    expect(await replicaSetsOf(ns, 'rolled')).to.have.length(2);
    expect(await replicaSetsOf(ns, 'kept')).to.have.length(1);
    expect(await replicaSetsOf(ns, 'secret-user')).to.have.length(1);
    expect(second.logs.filter((l) => l.message === 'rolled' && !isSentinel(l)), 'no roll on a new key').to.have.length(0);
    const metrics = (await httpGet(await second.httpPort(), '/metrics')).body;
    expect(metricValue(metrics, 'config_reload_decisions_total', { action: 'adopt', reason: 'key_changed' })).to.be.at.least(3);

    // The next change rolls once, under the new key.
    await rewriteConfigMap(ns, 'a-cm', { v: '3' });
    await core.replaceNamespacedSecret({ namespace: ns, name: 's-secret', body: { metadata: { name: 's-secret' }, data: pw('two') } });
    await waitForReplicaSets(ns, 'rolled', 3);
    await waitForReplicaSets(ns, 'secret-user', 2);
    const now = digests(key2, { v: '3' }, pw('two'));
    expect(await templateHash(ns, 'rolled')).to.equal(now.rolled);
    expect(await templateHash(ns, 'secret-user')).to.equal(now['secret-user']);
    await sentinelRollUnder(key2, ns);
    expect(await replicaSetsOf(ns, 'rolled')).to.have.length(3);
    expect(await replicaSetsOf(ns, 'secret-user')).to.have.length(2);
    expect(await replicaSetsOf(ns, 'kept')).to.have.length(1);
    for (const n of ['rolled', 'secret-user']) expect(workloadLines(second, ns, n, 'rolled'), `${n} rolled once`).to.have.length(1);
    expect(keysCreated(second), 'the new key is said once').to.have.length(1);
    expectNoKeyMaterial([first, second], bytes2);
    expect(await second.stop()).to.equal(0);
  });

  it('2b. the key Secret deleted while two replicas run: the leader restores it, a restarted replica and the next leader use that key, a change across the failover rolls once', async () => {
    const ns = await fresh('keys-custody');
    const keyNs = await fresh('keys-custody-key');
    await createConfigMap(ns, 'c-cm', { v: '1' });
    await createDeployment(ns, deployment('custody', { annotations: ENABLED, podSpec: podSpecWithVolume('c-cm') }));
    await waitForReplicaSets(ns, 'custody', 1);
    const replica = (id: string) => start({
      args: ['--namespace', ns, '--leader-elect', '--leader-election-namespace', ns, '--leader-election-id', 'custody-lease', '--lease-duration=4s'],
      env: { CONFIG_RELOAD_DIGEST_KEY_NAMESPACE: keyNs, POD_NAME: id }, waitFor: 'spawned',
    });
    const leads = (op: OperatorProcess) => op.waitForLog('leadership', (l) => l.message === 'became leader: starting workers once synced');
    const a = await replica('custody-a');
    const key1 = (await keyLoaded(a)).keyId;
    await leads(a);
    const b = await replica('custody-b');
    expect((await keyLoaded(b)).keyId).to.equal(key1);
    await recordedHash(ns, 'custody');

    // Deleted while both run; the standby restarts: it makes no key, and loads the one the
    // leader puts back.
    const { core } = clients();
    await core.deleteNamespacedSecret({ namespace: keyNs, name: E2E_KEY_SECRET });
    await b.stop('SIGKILL');
    const c = await replica('custody-c');
    expect((await keyLoaded(c)).keyId, 'the restarted replica loads the running key').to.equal(key1);
    expect((await readDigestKeySecret(keyNs)).key.id, 'the Secret holds it again').to.equal(key1);
    expect(a.logs.filter((l) => l.message === 'the digest key Secret was gone: restored it with the key this replica holds')).to.have.length(1);

    // Deleted again, the leader killed, a real change made before the other takes over: the new
    // leader restores the key and rolls the change, re-recording nothing.
    await core.deleteNamespacedSecret({ namespace: keyNs, name: E2E_KEY_SECRET });
    await a.stop('SIGKILL');
    await rewriteConfigMap(ns, 'c-cm', { v: '2' });
    await leads(c);
    await waitForReplicaSets(ns, 'custody', 2);
    const key = (await readDigestKeySecret(keyNs)).key;
    expect(key.id).to.equal(key1);
    await sentinelRollUnder(key, ns);
    expect(await replicaSetsOf(ns, 'custody'), 'rolled once').to.have.length(2);
    expect(workloadLines(c, ns, 'custody', 'adopted'), 'nothing re-recorded under another key').to.have.length(0);
    expect([...keysCreated(a), ...keysCreated(b), ...keysCreated(c)], 'one key made, ever').to.have.length(1);
  });

  it('3. a hand-written v1 digest is re-recorded as v2 without a roll; the next change rolls once', async () => {
    const ns = await fresh('keys-v1');
    const v1 = `v1-${'0123456789abcdef'.repeat(4)}`;
    await createConfigMap(ns, 'legacy-cm', { v: '1' });
    // As a v1 operator left them: one rolled (template digest too), one only adopted.
    const legacy = deployment('legacy', { annotations: { ...ENABLED, [HASH]: v1 }, podSpec: podSpecWithVolume('legacy-cm') });
    legacy.spec!.template.metadata!.annotations = { [HASH]: v1 };
    await createDeployment(ns, legacy);
    await createDeployment(ns, deployment('legacy-meta', { annotations: { ...ENABLED, [HASH]: v1 }, podSpec: podSpecWithVolume('legacy-cm') }));
    for (const n of ['legacy', 'legacy-meta']) await waitForReplicaSets(ns, n, 1);

    const op = await start({ args: ['--namespace', ns] });
    const consumed = [{ name: 'legacy-cm', optional: false, keys: null }];
    const expected = workloadDigest(consumed, () => configMapContent({ data: { v: '1' } }));
    for (const n of ['legacy', 'legacy-meta']) {
      const line = await op.waitForLog(`adopted ${n}`, (l) => l.message === 'adopted' && l.workload === `Deployment/${ns}/${n}`);
      expect(line).to.include({ reason: 'digest format v1 → v2: re-recorded without rolling', oldDigest: v1, newDigest: expected });
      await waitFor(`${n} re-recorded`, async () => ((await readDeployment(ns, n)).metadata?.annotations?.[HASH] === expected ? true : undefined));
    }
    await sentinelRoll(ns);
    expect(await replicaSetsOf(ns, 'legacy')).to.have.length(1);
    expect(await replicaSetsOf(ns, 'legacy-meta')).to.have.length(1);
    expect(await templateHash(ns, 'legacy'), 'the template keeps its v1 digest').to.equal(v1);
    expect(await templateHash(ns, 'legacy-meta')).to.equal(undefined);
    const metrics = (await httpGet(await op.httpPort(), '/metrics')).body;
    expect(metricValue(metrics, 'config_reload_decisions_total', { action: 'adopt', reason: 'format_upgrade' })).to.equal(2);

    await rewriteConfigMap(ns, 'legacy-cm', { v: '2' });
    for (const n of ['legacy', 'legacy-meta']) await waitForReplicaSets(ns, n, 2);
    const next = workloadDigest(consumed, () => configMapContent({ data: { v: '2' } }));
    await sentinelRoll(ns);
    for (const n of ['legacy', 'legacy-meta']) {
      expect(await replicaSetsOf(ns, n)).to.have.length(2);
      expect(await templateHash(ns, n)).to.equal(next);
      expect(workloadLines(op, ns, n, 'rolled'), `${n} rolled once`).to.have.length(1);
    }
    expect(await op.stop()).to.equal(0);
  });

  it('4. a --digest-key-file that is missing, too short or empty: exit 2 with one line on stderr', async () => {
    const dir = scratchDir('bad-key');
    const file = (name: string, content: string) => {
      const p = path.join(dir, name);
      writeFileSync(p, content);
      return p;
    };
    const short = Buffer.alloc(16, 7).toString('base64');
    const cases: Array<[what: string, file: string]> = [
      ['missing', path.join(dir, 'absent')],
      ['too short', file('short', `${short}\n`)],
      ['empty', file('empty', '')],
      // The file is read as the API reads the Secret (keyMaterial): base64 text of at least 32
      // bytes, or at least 32 bytes as they are; text shorter than that is neither.
      ['short text, not base64', file('garbled', 'not base64, and short\n')],
    ];
    for (const [what, keyFile] of cases) {
      const op = await start({ args: ['--digest-key-file', keyFile], waitFor: 'spawned' });
      expect(await op.closed, what).to.equal(2);
      expect(op.stderr, `${what}: one line`).to.have.length(1);
      expect(op.stderr[0], what).to.satisfy((line: string) => line.startsWith(`config-reload-operator: error: --digest-key-file ${keyFile}: `));
      expect(op.stderr[0], what).to.not.contain(short);
      expect(op.stdout, `${what}: nothing on stdout`).to.deep.equal([]);
    }
  });

  it('5a. the key namespace missing: not ready and retrying with a hint, never exiting; ready once it exists, without restart', async () => {
    const ns = await fresh('keys-nons');
    const keyNs = `keys-absent-${ns.split('-').pop()}`;
    namespaces.push(keyNs);
    await createConfigMap(ns, 'wait-cm', { v: '1' });
    await createDeployment(ns, deployment('wait', { annotations: ENABLED, podSpec: podSpecWithVolume('wait-cm') }));

    const op = await start({ args: ['--namespace', ns], env: { CONFIG_RELOAD_DIGEST_KEY_NAMESPACE: keyNs }, waitFor: 'spawned' });
    const port = await op.httpPort();
    const line = await op.waitForLog(KEY_NOT_LOADED, (l) => l.message === KEY_NOT_LOADED);
    expect(line.level).to.be.oneOf(['warn', 'error']);
    expect(line.secret).to.equal(`${keyNs}/${E2E_KEY_SECRET}`);
    expect(String(line.hint)).to.contain(`namespace ${keyNs} must exist`);
    expect((await httpGet(port, '/readyz')).status).to.equal(503);
    expect((await httpGet(port, '/healthz')).status).to.equal(200);
    // It retries rather than exits.
    await waitFor('a second attempt', async () => (op.logs.filter((l) => l.message === KEY_NOT_LOADED).length >= 2 ? true : undefined));
    expect((await httpGet(port, '/readyz')).status).to.equal(503);
    expect((await readDeployment(ns, 'wait')).metadata?.annotations?.[HASH], 'nothing decided without a key').to.equal(undefined);

    await clients().core.createNamespace({ body: { metadata: { name: keyNs } } });
    const loaded = await keyLoaded(op);
    await waitFor('/readyz 200', async () => ((await httpGet(port, '/readyz')).status === 200 ? true : undefined));
    const { key } = await readDigestKeySecret(keyNs);
    expect(key.id).to.equal(loaded.keyId);
    expect(await recordedHash(ns, 'wait')).to.equal(digestOf(key, { 'wait-cm': { v: '1' } }));
    expect(await op.stop(), 'the same process, still running').to.equal(0);
  });

  it('5b. the key Secret forbidden: not ready and retrying with the missing permission, never exiting; ready once granted, without restart', async () => {
    const ns = await fresh('keys-forbid');
    const keyNs = await fresh('keys-forbid-key');
    const kubeconfig = await narrowServiceAccountKubeconfig(ns, 'narrow-key', [
      { apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['list', 'watch'] },
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['list', 'watch', 'patch'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
    ]);
    await createConfigMap(ns, 'wait-cm', { v: '1' });
    await createDeployment(ns, deployment('wait', { annotations: ENABLED, podSpec: podSpecWithVolume('wait-cm') }));

    const op = await start({
      args: ['--kubeconfig', kubeconfig, '--namespace', ns, '--workload-kinds', 'deployments'],
      env: { KUBECONFIG: '', CONFIG_RELOAD_DIGEST_KEY_NAMESPACE: keyNs }, waitFor: 'spawned',
    });
    const port = await op.httpPort();
    const line = await op.waitForLog(KEY_NOT_LOADED, (l) => l.message === KEY_NOT_LOADED);
    expect(line.level).to.be.oneOf(['warn', 'error']);
    expect(line.missingPermission).to.equal(`get on secrets/${E2E_KEY_SECRET} and create on secrets in namespace ${keyNs}`);
    expect(String(line.error)).to.match(/403/);
    expect((await httpGet(port, '/readyz')).status).to.equal(503);
    expect((await httpGet(port, '/healthz')).status).to.equal(200);
    await waitFor('a second attempt', async () => (op.logs.filter((l) => l.message === KEY_NOT_LOADED).length >= 2 ? true : undefined));
    expect((await httpGet(port, '/readyz')).status).to.equal(503);

    // Exactly the permission the line names.
    await grantRole(keyNs, 'digest-key', { namespace: ns, name: 'narrow-key' }, [
      { apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: [E2E_KEY_SECRET] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
    ]);
    const loaded = await keyLoaded(op);
    expect(keysCreated(op)).to.have.length(1);
    await waitFor('/readyz 200', async () => ((await httpGet(port, '/readyz')).status === 200 ? true : undefined));
    const { key, bytes } = await readDigestKeySecret(keyNs);
    expect(key.id).to.equal(loaded.keyId);
    expect(await recordedHash(ns, 'wait')).to.equal(digestOf(key, { 'wait-cm': { v: '1' } }));
    expectNoKeyMaterial([op], bytes);
    expect(await op.stop(), 'the same process, still running').to.equal(0);
  });
});
