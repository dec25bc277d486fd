// --notify-url-file: the webhooks of a mounted Secret, one per line, read once at start. An
// unreadable file is bad start-up configuration (ConfigError: exit 2); the error names the path,
// never the file's content.
import { readFileSync } from 'node:fs';
import { type NotifyTarget, parseNotifyTargets } from '../config/notify-targets.ts';
import { ConfigError } from '../core/errors.ts';

export function notifyTargetsFromFile(path: string | undefined): NotifyTarget[] {
  if (path === undefined || path === '') return [];
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`--notify-url-file ${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseNotifyTargets(text, `--notify-url-file ${path}`);
}
