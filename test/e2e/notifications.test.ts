// Notifications on the testbed (docs/notifications.md): a local webhook receiver (loopback, an
// ephemeral port) gets exactly one message for a fan-out of one ConfigMap to 5 Deployments, one
// for a roll the apiserver refused (403: RBAC no longer lets the operator patch that one), and
// one for the wave that refusal holds, with the release command its WaveHeld Event prints. The
// same messages reach a Slack-format webhook, whose first answer is a 429 with Retry-After. The
// URLs (one from the variable, one from --notify-url-file) appear in no log line.
//
// "Nothing else was sent" is proven by a sentinel: its roll is notified last, and a message
// gathering for an earlier roll is due no later than the sentinel's (same quiet window, opened
// earlier), and each webhook's queue is first in, first out.
import { AuthorizationV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { scratchDir } from '../scratch-dir.ts';
import { E2E_DIGEST_KEY_BASE64 } from './digest-key.ts';
import { OperatorProcess } from './operator-process.ts';
import {
  clients, createConfigMap, createDeployment, createNamespace, deleteNamespace, deployment, ENABLED, httpGet, metricValue,
  narrowServiceAccountKubeconfig, type PolicyRule, recordedHash, replicaSetsOf, rewriteConfigMap, SENTINEL_PREFIX, sentinelRoll, waitFor,
  waitForReplicaSets,
} from './support.ts';

const SENTINEL = `${SENTINEL_PREFIX}notify`;
const FAN = ['fan-0', 'fan-1', 'fan-2', 'fan-3', 'fan-4'];
const SHARED = ['shared-a', 'shared-b', 'shared-c', 'shared-d', 'shared-e'];
const LOCKED = 'locked';
const SECRET_PATH = 'T0NOTIFY/B0NOTIFY/pAtHsEcReT';

interface Received { path: string; body: Record<string, unknown> }

function rules(patchable: string[]): PolicyRule[] {
  return [
    { apiGroups: [''], resources: ['configmaps'], verbs: ['list', 'watch'] },
    { apiGroups: ['apps'], resources: ['deployments'], verbs: ['list', 'watch'] },
    { apiGroups: ['apps'], resources: ['deployments'], verbs: ['patch'], resourceNames: patchable },
    { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  ];
}

const podSpec = (configMap: string) => ({ containers: [{ name: 'app', image: 'registry.example/app:1', envFrom: [{ configMapRef: { name: configMap } }] }] });

describe('operator: notifications', () => {
  let ns: string;
  let op: OperatorProcess | undefined;
  let server: Server | undefined;
  const received: Received[] = [];
  let slackAnswered = 0;

  before(async () => {
    ns = await createNamespace('notify');
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = req.url ?? '';
        received.push({ path: url, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
        // Slack's first answer: slow down, come back in a second.
        if (url.startsWith('/slack/') && slackAnswered++ === 0) {
          res.writeHead(429, { 'retry-after': '1' }).end();
          return;
        }
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await op?.stop();
    await new Promise((resolve) => server?.close(resolve));
    await deleteNamespace(ns);
  });

  it('a fan-out is one message, a refused roll one, the wave it holds one with its release command; nothing carries the URL', async () => {
    const port = (server!.address() as AddressInfo).port;
    const jsonUrl = `http://127.0.0.1:${port}/json/${SECRET_PATH}?token=qUeRySeCrEt`;
    const slackUrl = `slack+http://127.0.0.1:${port}/slack/${SECRET_PATH}`;
    const urlFile = path.join(scratchDir('notify-urls'), 'urls');
    writeFileSync(urlFile, `# the chart mounts a Secret here\n${slackUrl}\n`);
    const keyFile = path.join(scratchDir('notify-key'), 'key');
    writeFileSync(keyFile, E2E_DIGEST_KEY_BASE64);

    const all = [...FAN, ...SHARED, LOCKED, SENTINEL];
    const kubeconfig = await narrowServiceAccountKubeconfig(ns, 'notify-op', rules(all));
    await createConfigMap(ns, 'fan', { v: '1' });
    await createConfigMap(ns, 'shared', { v: '1' });
    for (const name of FAN) await createDeployment(ns, deployment(name, { annotations: ENABLED, podSpec: podSpec('fan') }));
    for (const name of [...SHARED, LOCKED]) {
      await createDeployment(ns, deployment(name, { annotations: { ...ENABLED, ...(name === LOCKED ? { 'config-reload.dev/canary': 'true' } : {}) }, podSpec: podSpec('shared') }));
    }
    op = await OperatorProcess.start({
      args: [
        '--kubeconfig', kubeconfig, '--namespace', ns, '--digest-key-file', keyFile, '--config-sources', 'configmaps',
        '--workload-kinds', 'deployments', '--wave-threshold', '5', '--notify-url-file', urlFile,
      ],
      env: { KUBECONFIG: '', CONFIG_RELOAD_NOTIFY_URL: jsonUrl },
    });
    for (const name of [...FAN, ...SHARED, LOCKED]) await recordedHash(ns, name);
    const json = () => received.filter((r) => r.path.startsWith('/json/')).map((r) => r.body);

    // 1. A fan-out of 5: one message listing the 5.
    await rewriteConfigMap(ns, 'fan', { v: '2' });
    for (const name of FAN) await waitForReplicaSets(ns, name, 2);
    await waitFor('the fan-out message', async () => (json().length >= 1 ? true : undefined));

    // 2. RBAC no longer lets the operator patch the canary: its roll is refused (403), which
    //    fails the canary wave and holds the other 5.
    const rbac = clients().kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.replaceNamespacedRole({ namespace: ns, name: 'notify-op', body: { metadata: { name: 'notify-op' }, rules: rules(all.filter((n) => n !== LOCKED)) } });
    await waitFor('RBAC refuses the canary', async () => (await canPatch(ns, LOCKED) ? undefined : true));
    await rewriteConfigMap(ns, 'shared', { v: '2' });
    const held = await waitFor('WaveHeld on ConfigMap shared', async () => {
      const list = await clients().core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.kind=ConfigMap,involvedObject.name=shared' });
      return list.items.find((e) => e.reason === 'WaveHeld');
    }, 90_000);
    const releaseCommand = /or: (kubectl annotate .*)$/.exec(held.message ?? '')?.[1];
    expect(releaseCommand, held.message).to.be.a('string');
    await waitFor('the refused and held messages', async () => (json().length >= 3 ? true : undefined));

    // 3. The sentinel: its own roll's message comes last.
    await sentinelRoll(ns, { name: SENTINEL });
    await waitFor('the sentinel\'s message', async () => (json().some((m) => (m.object as { name?: string } | null)?.name === `${SENTINEL}-cm`) ? true : undefined));

    const messages = json().map(({ time, operator, ...rest }) => {
      expect(Date.parse(time as string)).to.be.a('number').and.not.NaN;
      expect(operator).to.have.property('version');
      return rest;
    });
    const dep = (name: string) => ({ kind: 'Deployment', namespace: ns, name });
    const rolled = messages[0] as { workloads: unknown[] };
    expect(messages).to.have.length(4);
    expect({ ...messages[0], workloads: [...rolled.workloads].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))) }).to.deep.equal({
      schema: 'config-reload.dev/notification/v1', type: 'rolled', summary: `ConfigMap ${ns}/fan changed: 5 workloads rolled`,
      namespace: ns, object: { kind: 'ConfigMap', namespace: ns, name: 'fan' }, wave: null, workloads: FAN.map(dep), workloadCount: 5,
    });
    expect(messages.slice(1, 3)).to.have.deep.members([
      {
        schema: 'config-reload.dev/notification/v1', type: 'write_refused', summary: `Deployment ${ns}/${LOCKED}: roll refused by the API server (HTTP 403)`,
        workload: dep(LOCKED), status: 403, objects: [{ kind: 'ConfigMap', namespace: ns, name: 'shared' }],
      },
      {
        schema: 'config-reload.dev/notification/v1', type: 'wave_held', summary: `ConfigMap ${ns}/shared: change held, 5 workloads not rolled`,
        object: { kind: 'ConfigMap', namespace: ns, name: 'shared' }, failing: [dep(LOCKED)], heldCount: 5, releaseCommand,
      },
    ]);
    expect(messages[3]).to.deep.include({ type: 'rolled', object: { kind: 'ConfigMap', namespace: ns, name: `${SENTINEL}-cm` }, workloads: [dep(SENTINEL)], workloadCount: 1 });
    // What they report is what happened: the fan rolled, the held ones did not.
    for (const name of SHARED) expect(await replicaSetsOf(ns, name)).to.have.length(1);

    // Slack got the same four, the first twice (429, then again after its Retry-After).
    const slack = received.filter((r) => r.path.startsWith('/slack/')).map((r) => r.body as { text: string });
    expect(slack).to.have.length(5);
    expect(slack[1]).to.deep.equal(slack[0]);
    expect(slack.slice(1).map((m) => m.text)).to.deep.equal(json().map((m) => m.summary));
    const metrics = (await httpGet(await op.httpPort(), '/metrics')).body;
    expect(metricValue(metrics, 'config_reload_notifications_total', { format: 'json', outcome: 'sent' })).to.equal(4);
    expect(metricValue(metrics, 'config_reload_notifications_total', { format: 'slack', outcome: 'sent' })).to.equal(4);

    const logs = [...op.logs.map((l) => JSON.stringify(l)), ...op.stderr].join('\n');
    expect(logs).to.include(`slack 127.0.0.1:${port}`);
    for (const secret of ['pAtHsEcReT', 'qUeRySeCrEt', 'B0NOTIFY']) expect(logs).not.to.include(secret);
  });
});

/** Whether the operator's ServiceAccount may patch Deployment `name` now (the authorizer's answer). */
async function canPatch(ns: string, name: string): Promise<boolean> {
  const { kc } = clients();
  const review = await kc.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({ body: {
    spec: { user: `system:serviceaccount:${ns}:notify-op`, resourceAttributes: { namespace: ns, verb: 'patch', group: 'apps', resource: 'deployments', name } },
  } });
  return review.status?.allowed === true;
}
