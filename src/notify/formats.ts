// The body each kind of webhook takes for one notification (docs/notifications.md, "Formats").
// Pure: a notification in, a JSON value out. Chat formats list at most CHAT_LISTED names (the
// count says the rest) and keep every text under Slack's 3,000 characters per section.
import type { NotifyFormat } from '../config/notify-targets.ts';
import { type Notification, type ObjectRef, SCHEMA } from './notification.ts';

/** Names listed in a chat message; the generic JSON lists up to MAX_LISTED. */
export const CHAT_LISTED = 20;
/** Failing workloads named in a held wave's chat message. */
const FAILING_LISTED = 5;
/** Slack's limit on a section's text; the other chats take more. */
const MAX_TEXT = 3000;

/** What the operator says of itself in the generic JSON. */
export interface Sender {
  version: string;
}

/** The parts every format is made of: a title, a detail line, and a command to run (held waves). */
export interface Parts {
  title: string;
  detail: string;
  command: string | undefined;
}

export function partsOf(n: Notification): Parts {
  switch (n.type) {
    case 'rolled': {
      const what = n.object ? `${n.object.kind} ${n.object.namespace}/${n.object.name} changed` : `Configuration changed in ${n.namespace}`;
      const wave = n.wave ? ` (${n.wave})` : '';
      return { title: `${what}: ${plural(n.workloadCount, 'workload')} rolled${wave}`, detail: listed(n.workloads.map(short), n.workloadCount, CHAT_LISTED), command: undefined };
    }
    case 'wave_held': {
      const failing = n.failing.length > 0 ? `${listed(n.failing.map(full), n.failing.length, FAILING_LISTED)} did not roll out healthy` : 'an earlier wave failed';
      return {
        title: `${n.object.kind} ${n.object.namespace}/${n.object.name}: change held, ${plural(n.heldCount, 'workload')} not rolled`,
        detail: `${failing}. They roll with the next change of ${n.object.kind} ${n.object.name}, or now with:`,
        command: n.releaseCommand,
      };
    }
    case 'write_refused': {
      const status = n.status === undefined ? '' : ` (HTTP ${n.status})`;
      const objects = n.objects.length > 0 ? ` for ${n.objects.map(short).join(', ')}` : '';
      return {
        title: `${full(n.workload)}: roll refused by the API server${status}`,
        detail: `The config-hash patch${objects} was refused (RBAC or an admission policy); its PatchRejected Event says why: kubectl describe ${n.workload.kind.toLowerCase()} ${n.workload.name} -n ${n.workload.namespace}`,
        command: undefined,
      };
    }
  }
}

export function render(format: NotifyFormat, n: Notification, sender: Sender): unknown {
  const parts = partsOf(n);
  switch (format) {
    case 'json': return genericJson(n, parts, sender);
    case 'slack': return slack(parts);
    case 'teams': return teams(parts);
    case 'gchat': return googleChat(parts);
  }
}

/** The documented schema (docs/notifications.md, "The JSON schema"). */
function genericJson(n: Notification, parts: Parts, sender: Sender): unknown {
  const common = { schema: SCHEMA, type: n.type, time: new Date(n.at).toISOString(), summary: parts.title, operator: { version: sender.version } };
  switch (n.type) {
    case 'rolled':
      return { ...common, namespace: n.namespace, object: n.object ?? null, wave: n.wave ?? null, workloads: n.workloads, workloadCount: n.workloadCount };
    case 'wave_held':
      return { ...common, object: n.object, failing: n.failing, heldCount: n.heldCount, releaseCommand: n.releaseCommand };
    case 'write_refused':
      return { ...common, workload: n.workload, status: n.status ?? null, objects: n.objects };
  }
}

/** An incoming webhook's blocks, with `text` as the notification's fallback. */
function slack(parts: Parts): unknown {
  const blocks: unknown[] = [
    { type: 'section', text: { type: 'mrkdwn', text: clip(`*${slackEscape(parts.title)}*`) } },
    { type: 'section', text: { type: 'mrkdwn', text: clip(slackEscape(parts.detail)) } },
  ];
  if (parts.command) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(`\`\`\`${slackEscape(parts.command)}\`\`\``) } });
  return { text: clip(parts.title), blocks };
}

/** A Workflows webhook's message with one Adaptive Card (Office 365 connectors were retired in 2026). */
function teams(parts: Parts): unknown {
  const body: unknown[] = [
    { type: 'TextBlock', text: parts.title, weight: 'Bolder', size: 'Medium', wrap: true },
    { type: 'TextBlock', text: parts.detail, wrap: true },
  ];
  if (parts.command) body.push({ type: 'TextBlock', text: parts.command, fontType: 'Monospace', wrap: true });
  return {
    type: 'message',
    attachments: [{
      contentType: 'application/vnd.microsoft.card.adaptive',
      contentUrl: null,
      content: { $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.4', body },
    }],
  };
}

/** A Google Chat webhook's text message (its own markup: *bold*, `code`). */
function googleChat(parts: Parts): unknown {
  const lines = [`*${parts.title}*`, parts.detail];
  if (parts.command) lines.push(`\`${parts.command}\``);
  return { text: clip(lines.join('\n')) };
}

function short(o: ObjectRef): string {
  return `${o.kind} ${o.name}`;
}

function full(o: ObjectRef): string {
  return `${o.kind} ${o.namespace}/${o.name}`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** "a, b, c and 7 more". */
function listed(names: readonly string[], total: number, max: number): string {
  const shown = names.slice(0, max);
  const more = total - shown.length;
  return more > 0 ? `${shown.join(', ')} and ${more} more` : shown.join(', ');
}

/** Slack's mrkdwn control characters, as its documentation asks. */
function slackEscape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function clip(text: string): string {
  return text.length <= MAX_TEXT ? text : `${text.slice(0, MAX_TEXT - 1)}…`;
}
