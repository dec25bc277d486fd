// Each webhook format's body (src/notify/formats.ts), written out by hand from the formats'
// documentation (docs/notifications.md): the generic JSON schema, Slack's blocks, a Teams
// Workflows Adaptive Card, Google Chat's text.
import { expect } from 'chai';
import { render } from '../../src/notify/formats.ts';
import type { Notification } from '../../src/notify/notification.ts';

const AT = Date.UTC(2026, 11, 7, 5, 0, 0);
const SENDER = { version: '9.9.9' };
const cm = { kind: 'ConfigMap', namespace: 'shop', name: 'app-config' };
const dep = (name: string) => ({ kind: 'Deployment', namespace: 'shop', name });

const ROLLED: Notification = {
  type: 'rolled', at: AT, namespace: 'shop', object: cm, wave: undefined, workloads: [dep('web'), dep('api')], workloadCount: 2,
};
const HELD: Notification = {
  type: 'wave_held', at: AT, object: cm, failing: [dep('canary')], heldCount: 4,
  releaseCommand: 'kubectl annotate configmap app-config -n shop --overwrite config-reload.dev/release=0a1b2c',
};
const REFUSED: Notification = {
  type: 'write_refused', at: AT, workload: dep('locked'), status: 403, objects: [cm],
};

describe('notifications: formats', () => {
  it('generic JSON: the v1 schema of each type', () => {
    expect(render('json', ROLLED, SENDER)).to.deep.equal({
      schema: 'config-reload.dev/notification/v1', type: 'rolled', time: '2026-12-07T05:00:00.000Z',
      summary: 'ConfigMap shop/app-config changed: 2 workloads rolled', operator: { version: '9.9.9' },
      namespace: 'shop', object: { kind: 'ConfigMap', namespace: 'shop', name: 'app-config' }, wave: null,
      workloads: [{ kind: 'Deployment', namespace: 'shop', name: 'web' }, { kind: 'Deployment', namespace: 'shop', name: 'api' }], workloadCount: 2,
    });
    expect(render('json', HELD, SENDER)).to.deep.equal({
      schema: 'config-reload.dev/notification/v1', type: 'wave_held', time: '2026-12-07T05:00:00.000Z',
      summary: 'ConfigMap shop/app-config: change held, 4 workloads not rolled', operator: { version: '9.9.9' },
      object: { kind: 'ConfigMap', namespace: 'shop', name: 'app-config' }, failing: [{ kind: 'Deployment', namespace: 'shop', name: 'canary' }],
      heldCount: 4, releaseCommand: 'kubectl annotate configmap app-config -n shop --overwrite config-reload.dev/release=0a1b2c',
    });
    expect(render('json', REFUSED, SENDER)).to.deep.equal({
      schema: 'config-reload.dev/notification/v1', type: 'write_refused', time: '2026-12-07T05:00:00.000Z',
      summary: 'Deployment shop/locked: roll refused by the API server (HTTP 403)', operator: { version: '9.9.9' },
      workload: { kind: 'Deployment', namespace: 'shop', name: 'locked' }, status: 403,
      objects: [{ kind: 'ConfigMap', namespace: 'shop', name: 'app-config' }],
    });
  });

  it('Slack: a fallback text and mrkdwn sections; a held wave adds the command as a code block', () => {
    expect(render('slack', ROLLED, SENDER)).to.deep.equal({
      text: 'ConfigMap shop/app-config changed: 2 workloads rolled',
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: '*ConfigMap shop/app-config changed: 2 workloads rolled*' } },
        { type: 'section', text: { type: 'mrkdwn', text: 'Deployment web, Deployment api' } },
      ],
    });
    expect(render('slack', HELD, SENDER)).to.deep.equal({
      text: 'ConfigMap shop/app-config: change held, 4 workloads not rolled',
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: '*ConfigMap shop/app-config: change held, 4 workloads not rolled*' } },
        { type: 'section', text: { type: 'mrkdwn', text: 'Deployment shop/canary did not roll out healthy. They roll with the next change of ConfigMap app-config, or now with:' } },
        { type: 'section', text: { type: 'mrkdwn', text: '```kubectl annotate configmap app-config -n shop --overwrite config-reload.dev/release=0a1b2c```' } },
      ],
    });
  });

  it('Teams: a Workflows message with one Adaptive Card 1.4', () => {
    expect(render('teams', REFUSED, SENDER)).to.deep.equal({
      type: 'message',
      attachments: [{
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.4',
          body: [
            { type: 'TextBlock', text: 'Deployment shop/locked: roll refused by the API server (HTTP 403)', weight: 'Bolder', size: 'Medium', wrap: true },
            {
              type: 'TextBlock', wrap: true,
              text: 'The config-hash patch for ConfigMap app-config was refused (RBAC or an admission policy); its PatchRejected Event says why: kubectl describe deployment locked -n shop',
            },
          ],
        },
      }],
    });
  });

  it('Google Chat: one text with its own markup', () => {
    expect(render('gchat', HELD, SENDER)).to.deep.equal({
      text: '*ConfigMap shop/app-config: change held, 4 workloads not rolled*\n'
        + 'Deployment shop/canary did not roll out healthy. They roll with the next change of ConfigMap app-config, or now with:\n'
        + '`kubectl annotate configmap app-config -n shop --overwrite config-reload.dev/release=0a1b2c`',
    });
  });

  it('chats list 20 names and count the rest; one workload is singular; an unattributed change names the namespace', () => {
    const many: Notification = { ...ROLLED, workloads: Array.from({ length: 30 }, (_, i) => dep(`w${i}`)), workloadCount: 1000, wave: 'wave 2 of 2' };
    const names = Array.from({ length: 20 }, (_, i) => `Deployment w${i}`).join(', ');
    expect(render('gchat', many, SENDER)).to.deep.equal({ text: `*ConfigMap shop/app-config changed: 1000 workloads rolled (wave 2 of 2)*\n${names} and 980 more` });
    const one: Notification = { type: 'rolled', at: AT, namespace: 'shop', object: undefined, wave: undefined, workloads: [dep('web')], workloadCount: 1 };
    expect(render('gchat', one, SENDER)).to.deep.equal({ text: '*Configuration changed in shop: 1 workload rolled*\nDeployment web' });
  });

  it('Slack: &, < and > are escaped as its mrkdwn asks, and no section passes 3,000 characters', () => {
    const odd: Notification = { ...ROLLED, workloads: [dep('a<b>&c')], workloadCount: 1 };
    const body = render('slack', odd, SENDER) as { blocks: Array<{ text: { text: string } }> };
    expect(body.blocks[1]!.text.text).to.equal('Deployment a&lt;b&gt;&amp;c');
    const long: Notification = { ...ROLLED, workloads: Array.from({ length: 20 }, (_, i) => dep(`${'x'.repeat(240)}${i}`)), workloadCount: 20 };
    const sections = (render('slack', long, SENDER) as { blocks: Array<{ text: { text: string } }> }).blocks.map((b) => b.text.text.length);
    expect(Math.max(...sections)).to.equal(3000);
  });
});
