// No Secret value, no unkeyed hash of one and no key material in any log line, Event, metric or
// error message, at every log level and in dry-run. Unique marker values are written into a
// Secret, every code path that mentions that Secret is driven — adoption, rolls, the Secret
// missing, a malformed annotation naming it, a catch-up in dry-run, a forbidden patch (with the
// key from a file) — at debug level (every other level logs a subset of it), and then all the
// operators' output, every Event of the cluster, /metrics and the workloads' annotations are
// searched for the markers, their base64, their plain hashes, and the digest key's bytes. The
// last test also checks that each path was really driven, so that it cannot pass vacuously.
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { scratchDir } from '../scratch-dir.ts';
import { E2E_DIGEST_KEY_BASE64, E2E_KEY_NAMESPACE, E2E_KEY_SECRET } from './digest-key.ts';
import { type LogLine, OperatorProcess } from './operator-process.ts';
import {
  clients, createDeployment, createNamespace, deleteNamespace, deployment, ENABLED, HASH, httpGet, kubectl, readDeployment,
  replicaSetsOf, SENTINEL_PREFIX, secretContent, sentinelRoll, narrowServiceAccountKubeconfig, waitFor, waitForReplicaSets, workloadDigest,
} from './support.ts';

const SECRET = 'leak-secret';
const SECRETS_ANNOTATION = 'config-reload.dev/secrets';
const FORBIDDEN_SENTINEL = `${SENTINEL_PREFIX}leak`;

/** A value no output could contain by chance. */
const marker = (what: string) => `cro-leak-${what}-${randomBytes(12).toString('hex')}`;
const b64 = (text: string) => Buffer.from(text).toString('base64');

interface Needle {
  what: string;
  text: string;
  /** Hex: searched case-insensitively. */
  hex?: boolean;
}

// Hashes are searched by their first 16 characters (64 bits): that finds a full hash and one cut
// to any length from 16 up (the operator cuts its own per-key digests to 32 hex characters).
const PREFIX = 16;

/** The value, its base64, and its plain (unkeyed) hashes and those of its base64, in hex and base64. */
function valueNeedles(label: string, value: string): Needle[] {
  const encoded = b64(value);
  const needles: Needle[] = [
    { what: label, text: value },
    { what: `base64(${label})`, text: encoded.replace(/=+$/, '') },
  ];
  for (const [name, input] of [[label, value], [`base64(${label})`, encoded]] as const) {
    for (const algorithm of ['sha256', 'sha1', 'sha512', 'md5']) {
      const digest = createHash(algorithm).update(input).digest();
      needles.push({ what: `${algorithm}(${name}) hex`, text: digest.toString('hex').slice(0, PREFIX), hex: true });
      needles.push({ what: `${algorithm}(${name}) base64`, text: digest.toString('base64').slice(0, PREFIX) });
      needles.push({ what: `${algorithm}(${name}) base64url`, text: digest.toString('base64url').slice(0, PREFIX) });
    }
  }
  return needles;
}

/** The digest key's bytes, in base64 (as its Secret and the key file hold them) and hex. */
function keyNeedles(): Needle[] {
  const bytes = Buffer.from(E2E_DIGEST_KEY_BASE64, 'base64');
  return [
    { what: 'digest key base64', text: E2E_DIGEST_KEY_BASE64.replace(/=+$/, '') },
    { what: 'digest key base64url', text: bytes.toString('base64url') },
    { what: 'digest key hex', text: bytes.toString('hex').slice(0, 32), hex: true },
    { what: 'digest key hex (second half)', text: bytes.toString('hex').slice(32), hex: true },
  ];
}

function leaks(where: string, text: string, needles: readonly Needle[]): string[] {
  const lower = text.toLowerCase();
  return needles
    .filter((n) => (n.hex ? lower.includes(n.text.toLowerCase()) : text.includes(n.text)))
    .map((n) => `${n.what} found in ${where}`);
}

describe('no Secret value, unkeyed hash or key material in any output', () => {
  let ns: string;
  const values: Record<string, string> = {
    password1: marker('password1'),
    token: marker('token'),
    password2: marker('password2'),
    password3: marker('password3'),
    password4: marker('password4'),
  };
  /** Every operator run here, in order: A (debug), B (dry-run, debug), C (forbidden patch, debug, key file). */
  const ops: Record<'a' | 'b' | 'c', OperatorProcess | undefined> = { a: undefined, b: undefined, c: undefined };
  /** /metrics, /healthz and /readyz of each operator, taken before it stopped. */
  const served: Array<{ op: string; path: string; body: string }> = [];

  const secretData = (password: string) => ({ password: b64(password), token: b64(values.token!) });
  const writeSecret = async (password: string) => {
    const { core } = clients();
    await core.replaceNamespacedSecret({ namespace: ns, name: SECRET, body: { metadata: { name: SECRET }, type: 'Opaque', data: secretData(password) } });
  };
  const collectServed = async (name: string, op: OperatorProcess) => {
    const port = await op.httpPort();
    for (const p of ['/metrics', '/healthz', '/readyz']) served.push({ op: name, path: p, body: (await httpGet(port, p)).body });
  };
  const eventsOf = async (name: string) =>
    (await clients().core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name}` })).items;
  const waitForEvent = (name: string, reason: string) =>
    waitFor(`${reason} Event on ${name}`, async () => (await eventsOf(name)).find((e) => e.reason === reason));
  const line = (op: OperatorProcess, message: string, name: string) =>
    op.waitForLog(`${message} ${name}`, (l) => l.message === message && l.workload === `Deployment/${ns}/${name}`);

  // leak-app reads the whole Secret (envFrom), leak-key one key of it (secretKeyRef), leak-named
  // names it by annotation (optional, read through the API), leak-bad names it in a malformed one.
  const consumedBy = {
    'leak-app': [{ kind: 'Secret' as const, name: SECRET, optional: false, keys: null }],
    'leak-key': [{ kind: 'Secret' as const, name: SECRET, optional: false, keys: ['password'] }],
    'leak-named': [{ kind: 'Secret' as const, name: SECRET, optional: true, keys: null }],
  };
  const digestOf = (name: keyof typeof consumedBy, password: string | undefined) =>
    workloadDigest(consumedBy[name], () => (password === undefined ? undefined : secretContent(secretData(password))));
  const rolling = ['leak-app', 'leak-key', 'leak-named'] as const;

  before(async () => {
    ns = await createNamespace('leak');
  });
  after(async () => {
    await Promise.all(Object.values(ops).map((op) => op?.stop('SIGKILL')));
    await deleteNamespace(ns);
  });

  it('1. at debug level: adoption, rolls, the Secret deleted and re-created, a malformed annotation naming it', async () => {
    const { core } = clients();
    // The token goes in through stringData, which the apiserver folds into data.
    await core.createNamespacedSecret({ namespace: ns, body: {
      metadata: { name: SECRET }, type: 'Opaque', data: { password: b64(values.password1!) }, stringData: { token: values.token! },
    } });
    const container = { name: 'app', image: 'registry.example/app:1' };
    await createDeployment(ns, deployment('leak-app', {
      annotations: ENABLED, podSpec: { containers: [{ ...container, envFrom: [{ secretRef: { name: SECRET } }] }] },
    }));
    await createDeployment(ns, deployment('leak-key', {
      annotations: ENABLED,
      podSpec: { containers: [{ ...container, env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: SECRET, key: 'password' } } }] }] },
    }));
    await createDeployment(ns, deployment('leak-named', { annotations: { [SECRETS_ANNOTATION]: SECRET } }));
    await createDeployment(ns, deployment('leak-bad', {
      annotations: { ...ENABLED, [SECRETS_ANNOTATION]: `${SECRET}, Bad_Name` },
      podSpec: {
        containers: [{ ...container, volumeMounts: [{ name: 's', mountPath: '/s' }] }],
        volumes: [{ name: 's', secret: { secretName: SECRET } }],
      },
    }));
    for (const n of [...rolling, 'leak-bad']) await waitForReplicaSets(ns, n, 1);

    // A periodic resync every 2 s that finds nothing to do is said at debug level.
    const a = ops.a = await OperatorProcess.start({ args: ['--namespace', ns, '--log-level', 'debug', '--resync-period', '2s'] });
    for (const n of rolling) {
      await line(a, 'adopted', n);
      await waitFor(`${n} adopted`, async () => ((await readDeployment(ns, n)).metadata?.annotations?.[HASH] === digestOf(n, values.password1) ? true : undefined));
    }
    const malformed = await line(a, 'malformed annotation', 'leak-bad');
    expect(String(malformed.reason)).to.contain('Bad_Name');
    await waitForEvent('leak-bad', 'MalformedAnnotation');
    expect(await replicaSetsOf(ns, 'leak-bad')).to.have.length(1);
    // Removed once reported: a standing warning queues its workload on every resync (said at
    // info), and with none left the periodic resync is said at debug level.
    await clients().apps.deleteNamespacedDeployment({ namespace: ns, name: 'leak-bad' });

    // A new value rolls every consumer once.
    await writeSecret(values.password2!);
    for (const n of rolling) {
      const rolled = await waitForReplicaSets(ns, n, 2);
      expect(rolled.spec?.template?.metadata?.annotations?.[HASH], n).to.equal(digestOf(n, values.password2));
    }
    expect((await line(a, 'rolled', 'leak-app')).changed).to.deep.equal([`Secret ${SECRET}`]);
    await waitForEvent('leak-app', 'ConfigChanged');

    // Deleted: the required consumers are warned about and kept; the optional one rolls.
    await core.deleteNamespacedSecret({ namespace: ns, name: SECRET });
    for (const n of ['leak-app', 'leak-key']) {
      expect((await line(a, 'required Secret missing', n)).level).to.equal('warn');
      await waitForEvent(n, 'SecretMissing');
    }
    await waitForReplicaSets(ns, 'leak-named', 3);

    // Re-created with another value: all three roll.
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: SECRET }, type: 'Opaque', data: secretData(values.password3!) } });
    await waitForReplicaSets(ns, 'leak-app', 3);
    await waitForReplicaSets(ns, 'leak-key', 3);
    await waitForReplicaSets(ns, 'leak-named', 4);
    await sentinelRoll(ns);
    for (const n of rolling) expect((await readDeployment(ns, n)).metadata?.annotations?.[HASH], n).to.equal(digestOf(n, values.password3));
    await waitFor('a debug line', async () => (a.logs.some((l) => l.level === 'debug') ? true : undefined));
    await collectServed('A', a);
    expect(await a.stop()).to.equal(0);
  });

  it('2. dry-run at debug level: the catch-up of a change made while stopped, logged as "would roll" with its patch', async () => {
    // Changed while no operator runs: the dry-run operator finds it at start-up.
    await writeSecret(values.password4!);
    const b = ops.b = await OperatorProcess.start({ args: ['--namespace', ns, '--dry-run', '--log-level', 'debug', '--resync-period', '2s'] });
    for (const n of rolling) {
      const would = await line(b, 'would roll', n);
      expect(would).to.include({ dryRun: true, oldDigest: digestOf(n, values.password3), newDigest: digestOf(n, values.password4) });
      expect(would.patch).to.have.nested.property(`spec.template.metadata.annotations.${HASH.replace(/\./g, '\\.')}`, digestOf(n, values.password4));
    }
    await sentinelRoll(ns, { dryRun: b });
    expect(await replicaSetsOf(ns, 'leak-app'), 'dry-run rolled nothing').to.have.length(3);
    await collectServed('B', b);
    expect(await b.stop()).to.equal(0);
  });

  it('3. a forbidden patch: an operator that may not patch them (and reads its key from a file) is refused', async () => {
    const kubeconfig = await narrowServiceAccountKubeconfig(ns, 'leak-narrow', [
      { apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['list', 'watch'] },
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['list', 'watch'] },
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['patch'], resourceNames: [FORBIDDEN_SENTINEL] },
      { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
    ]);
    // No access to the key Secret: the key comes from a file, as a mounted Secret provides it.
    const keyFile = path.join(scratchDir('leak-key'), 'key');
    writeFileSync(keyFile, `${E2E_DIGEST_KEY_BASE64}\n`);
    const c = ops.c = await OperatorProcess.start({
      args: ['--kubeconfig', kubeconfig, '--namespace', ns, '--digest-key-file', keyFile, '--log-level', 'debug', '--workload-kinds', 'deployments'],
      env: { KUBECONFIG: '' },
    });
    for (const n of rolling) {
      const refused = await line(c, 'patch refused by the API server', n);
      expect(String(refused.error)).to.match(/HTTP 403/);
      await waitForEvent(n, 'PatchRejected');
    }
    await sentinelRoll(ns, { name: FORBIDDEN_SENTINEL });
    expect(await replicaSetsOf(ns, 'leak-app')).to.have.length(3);
    await collectServed('C', c);
    expect(await c.stop()).to.equal(0);
  });

  it('4. none of the markers, their base64 or plain hashes, nor the key, in any output, Event, metric or annotation', async () => {
    const { a, b, c } = ops;
    // The paths were driven: each run said what it was here to say.
    if (!a || !b || !c) throw new Error('tests 1-3 must run first: they drive the paths searched here');
    const said = (op: OperatorProcess, message: string, name: string, extra: (l: LogLine) => boolean = () => true) =>
      op.logs.some((l) => l.message === message && l.workload === `Deployment/${ns}/${name}` && extra(l));
    expect(said(a, 'adopted', 'leak-app'), 'adopted').to.equal(true);
    expect(said(a, 'rolled', 'leak-app'), 'rolled').to.equal(true);
    expect(said(a, 'required Secret missing', 'leak-app'), 'Secret missing').to.equal(true);
    expect(said(a, 'malformed annotation', 'leak-bad'), 'malformed').to.equal(true);
    expect(a.logs.some((l) => l.level === 'debug'), 'debug lines').to.equal(true);
    expect(said(b, 'would roll', 'leak-app', (l) => l.dryRun === true && l.patch !== undefined), 'would roll').to.equal(true);
    expect(said(c, 'patch refused by the API server', 'leak-app'), 'patch refused').to.equal(true);
    const reasons = new Set((await clients().core.listNamespacedEvent({ namespace: ns })).items.map((e) => `${e.involvedObject.name}/${e.type}/${e.reason}`));
    for (const r of ['leak-app/Normal/ConfigChanged', 'leak-app/Warning/SecretMissing', 'leak-bad/Warning/MalformedAnnotation', 'leak-app/Warning/PatchRejected']) {
      expect(reasons, 'Events').to.include(r);
    }
    expect(served.filter((s) => s.path === '/metrics' && s.body.includes('config_reload_decisions_total')), 'metrics of each run').to.have.length(3);

    const needles = [...Object.entries(values).flatMap(([label, value]) => valueNeedles(label, value)), ...keyNeedles()];
    // The search finds what is there: the Secret and the key Secret themselves hold the values.
    expect(leaks('the Secret', kubectl('get', 'secret', SECRET, '-n', ns, '-o', 'json'), needles))
      .to.include.members(['base64(password4) found in the Secret', 'base64(token) found in the Secret']);
    expect(leaks('the key Secret', kubectl('get', 'secret', E2E_KEY_SECRET, '-n', E2E_KEY_NAMESPACE, '-o', 'json'), needles))
      .to.include('digest key base64 found in the key Secret');
    expect(leaks('a line', `x ${createHash('sha1').update(b64(values.token!)).digest('hex').toUpperCase()} x`, needles))
      .to.deep.equal(['sha1(base64(token)) hex found in a line']);

    const found: string[] = [];
    for (const [name, op] of Object.entries(ops)) {
      expect(op!.stderr.length, `operator ${name} wrote its log`).to.be.greaterThan(0);
      found.push(...leaks(`operator ${name.toUpperCase()} stderr`, op!.stderr.join('\n'), needles));
      found.push(...leaks(`operator ${name.toUpperCase()} stdout`, op!.stdout.join('\n'), needles));
    }
    for (const s of served) found.push(...leaks(`operator ${s.op} ${s.path}`, s.body, needles));
    // Every field of every Event in the cluster, as the apiserver serves them (both Event APIs).
    found.push(...leaks('core/v1 Events', kubectl('get', 'events', '--all-namespaces', '-o', 'json'), needles));
    found.push(...leaks('events.k8s.io Events', kubectl('get', 'events.events.k8s.io', '--all-namespaces', '-o', 'json'), needles));
    // The digests on the workloads (and on their ReplicaSets and pods) are public: keyed, never a plain hash.
    found.push(...leaks('workloads', kubectl('get', 'deployments,replicasets,pods', '-n', ns, '-o', 'json'), needles));
    expect(found, 'leaks').to.deep.equal([]);
  });
});
