// What notifications never carry, proven through the real controller (the in-memory API, the
// virtual clock, every format): a Secret's value (plain or base64), its key names, a digest,
// or the webhook URL — while they do name the Secret, the workloads rolled and the one refused.
import { expect } from 'chai';
import { HASH_ANNOTATION } from '../../src/core/annotations.ts';
import { parseNotifyTargets } from '../../src/config/notify-targets.ts';
import { Notifier } from '../../src/notify/notifier.ts';
import type { Post } from '../../src/notify/sender.ts';
import { ControllerHarness, NS, silentLog } from '../support/controller-harness.ts';

const VALUE = 'hunter2-sEcReT-vAlUe';
const KEY = 'db-password-key';
const URLS = [
  'https://hooks.example.test/json/PaThSeCrEt1?token=QuErYsEcReT1',
  'slack+https://hooks.slack.example.test/services/T1/B1/PaThSeCrEt2',
  'teams+https://flows.example.test/workflows/PaThSeCrEt3/triggers/manual/run?sig=QuErYsEcReT3',
  'gchat+https://chat.example.test/v1/spaces/AAA/messages?key=QuErYsEcReT4&token=QuErYsEcReT5',
];

const secret = (value: string) => ({ metadata: { name: 'db', namespace: NS }, type: 'Opaque', data: { [KEY]: Buffer.from(value).toString('base64') } });
const deployment = (name: string) => ({
  metadata: { name, namespace: NS, annotations: { 'config-reload.dev/enabled': 'true' } },
  spec: { replicas: 1, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'app:1', envFrom: [{ secretRef: { name: 'db' } }] }] } } },
});

describe('notifications: what they never carry', () => {
  it('a Secret change rolled and refused: named, never its value, keys, digest, or the URL', async () => {
    const h = new ControllerHarness();
    const bodies: Array<{ url: string; body: string }> = [];
    const post: Post = async (url, body) => {
      bodies.push({ url, body });
      return { status: 200, retryAfter: null };
    };
    const targets = URLS.flatMap((u) => parseNotifyTargets(u, '--notify-url'));
    const notifier = new Notifier({ targets, clock: h.clock, log: silentLog, version: 'test', leading: () => true, post });
    const recorded: string[] = [];
    const events = {
      normal: async (_t: unknown, reason: string, message: string) => void recorded.push(`${reason}: ${message}`),
      warning: async (_t: unknown, reason: string, message: string) => void recorded.push(`${reason}: ${message}`),
    };
    h.cluster.put('secrets', secret('old-value'));
    h.cluster.put('deployments', deployment('web'));
    h.cluster.put('deployments', deployment('locked'));
    const controller = await h.leader({ events: notifier.tap(events) });
    await h.settle();
    expect(bodies).to.deep.equal([]); // adoptions say nothing

    h.cluster.refusePatchesOf('locked');
    h.cluster.put('secrets', secret(VALUE));
    await h.settle();
    await controller.stop();
    await notifier.stop(1_000);

    expect(h.rolled()).to.deep.equal(['web']);
    // One rolled and one refused message, each to every webhook, in its format.
    expect(bodies.map((b) => b.url)).to.have.members([...targets.map((t) => t.url()), ...targets.map((t) => t.url())]);
    const json = bodies.filter((b) => b.url === targets[0]!.url()).map((b) => JSON.parse(b.body) as Record<string, unknown>);
    expect(json.map((j) => [j.type, j.summary])).to.have.deep.members([
      ['rolled', `Secret ${NS}/db changed: 1 workload rolled`],
      ['write_refused', `Deployment ${NS}/locked: roll refused by the API server (HTTP 422)`],
    ]);

    const digest = h.cluster.get('deployments', NS, 'web')!.metadata.annotations![HASH_ANNOTATION]!;
    const never = [
      VALUE, Buffer.from(VALUE).toString('base64'), KEY, digest, digest.slice(-16),
      ...targets.map((t) => t.url()), 'PaThSeCrEt', 'QuErYsEcReT',
    ];
    for (const { body } of bodies) {
      expect(body).to.include('db');
      for (const secretText of never) expect(body, `a body carries ${secretText}`).not.to.include(secretText);
    }
    // The Events themselves carry the digest; the notification takes only their facts.
    expect(recorded.join('\n')).to.include(digest);
  });

  it('a replica that does not lead sends nothing, and still records every Event', async () => {
    const h = new ControllerHarness();
    let posts = 0;
    let leading = false;
    const notifier = new Notifier({
      targets: parseNotifyTargets(URLS[0], '--notify-url'), clock: h.clock, log: silentLog, version: 'test', leading: () => leading,
      post: async () => {
        posts++;
        return { status: 200, retryAfter: null };
      },
    });
    const recorded: string[] = [];
    const sink = {
      normal: async (_t: unknown, reason: string) => void recorded.push(reason),
      warning: async (_t: unknown, reason: string) => void recorded.push(reason),
    };
    const tapped = notifier.tap(sink);
    const target = { kind: 'Deployment' as const, apiVersion: 'apps/v1' as const, namespace: NS, name: 'web', uid: 'u' };
    await tapped.normal(target, 'ConfigChanged', 'm', { kind: 'rolled', changed: ['ConfigMap a'] });
    leading = true;
    await tapped.normal(target, 'ConfigChanged', 'm', { kind: 'rolled', changed: ['ConfigMap b'] });
    await tapped.warning(target, 'ConfigMapMissing', 'no facts: no message');
    await notifier.stop(1_000);
    await h.clock.advance(0);
    expect(recorded).to.deep.equal(['ConfigChanged', 'ConfigChanged', 'ConfigMapMissing']);
    expect(posts).to.equal(1);
  });
});
