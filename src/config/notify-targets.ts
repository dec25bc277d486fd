// Where notifications go (--notify-url, --notify-url-file; docs/notifications.md): one webhook
// per entry, its format chosen by a prefix (`slack+https://…`), none meaning the generic JSON.
// A webhook URL is a credential — whoever holds it can post to the channel — so no error, log
// line or JSON of a target carries it: errors name the entry by position, a target shows only
// its format and host. Pure.
import { ConfigError } from '../core/errors.ts';

export const NOTIFY_FORMATS = ['json', 'slack', 'teams', 'gchat'] as const;
export type NotifyFormat = (typeof NOTIFY_FORMATS)[number];

/** The prefixes of the formats other than the generic JSON (which has none). */
const PREFIXES: Readonly<Record<string, NotifyFormat>> = { slack: 'slack', teams: 'teams', gchat: 'gchat', json: 'json' };

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/** One webhook. Its URL is readable through `url()` only: printing or serialising the target shows `label`. */
export class NotifyTarget {
  readonly format: NotifyFormat;
  /** "slack hooks.slack.com": what logs and errors may say of it. */
  readonly label: string;
  readonly #url: string;

  constructor(format: NotifyFormat, url: URL) {
    this.format = format;
    this.label = `${format} ${url.host}`;
    this.#url = url.href;
  }

  url(): string {
    return this.#url;
  }

  toJSON(): string {
    return this.label;
  }

  toString(): string {
    return this.label;
  }

  [INSPECT](): string {
    return `NotifyTarget(${this.label})`;
  }
}

/**
 * Targets from `raw`: entries separated by commas or newlines (a comma inside a URL is written
 * `%2C`), blank entries and `#` comment lines skipped. `source` names where they came from in
 * an error ("--notify-url", "--notify-url-file /etc/notify/urls").
 */
export function parseNotifyTargets(raw: string | undefined, source: string): NotifyTarget[] {
  if (raw === undefined) return [];
  const entries = raw.split('\n').filter((line) => !line.trim().startsWith('#')).flatMap((line) => line.split(','))
    .map((e) => e.trim()).filter((e) => e !== '');
  return entries.map((entry, i) => parseEntry(entry, `${source}: entry ${i + 1}`));
}

function parseEntry(entry: string, where: string): NotifyTarget {
  const plus = /^([A-Za-z0-9-]+)\+(.*)$/s.exec(entry);
  let format: NotifyFormat = 'json';
  let rest = entry;
  if (plus) {
    const prefix = plus[1]!.toLowerCase();
    const known = PREFIXES[prefix];
    // The prefix is the one part that is not secret, and only when it is short and plain.
    if (known === undefined) throw new ConfigError(`${where}: unknown format${prefix.length <= 20 ? ` "${prefix}"` : ''}: expected ${FORMAT_HINT}`);
    format = known;
    rest = plus[2]!;
  }
  let url: URL;
  try {
    url = new URL(rest);
  } catch {
    throw new ConfigError(`${where}: not a URL (its text is not shown: a webhook URL is a secret): expected ${FORMAT_HINT}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`${where}: expected an http or https URL, not ${url.protocol.length <= 12 ? url.protocol : 'another scheme'}`);
  if (url.username !== '' || url.password !== '') throw new ConfigError(`${where}: a URL with user information is not taken; put the credential in the path or query, as webhooks do`);
  return new NotifyTarget(format, url);
}

const FORMAT_HINT = '[FORMAT+]URL, FORMAT one of slack, teams, gchat, json (the default), e.g. slack+https://hooks.slack.com/services/…';
