// A flag table (spec.ts) as the flags part of --help, and as a Markdown table for the README
// (scripts/docs-flags.ts writes it there; test/system/flag-docs.test.ts fails when it is stale).
import type { Flag, FlagTable } from './spec.ts';

const WIDTH = 110;

/** Backticks mark literals in the help texts: Markdown keeps them, --help drops them. */
export const plain = (markdown: string) => markdown.replaceAll('`', '');

/** `-n, --namespace NS`; `alignLong`: `    --kubeconfig PATH` for a flag without a short form. */
function synopsis(name: string, flag: Flag, alignLong: boolean): string {
  const long = flag.kind === 'value' ? `--${name} ${flag.arg}` : `--${name}`;
  if (flag.short !== undefined) return `-${flag.short}, ${long}`;
  return alignLong ? `    ${long}` : long;
}

/** The default as shown (Markdown), or undefined when there is none to show. */
function shownDefault(name: string, flag: Flag): string | undefined {
  if (flag.defaultText !== undefined) return flag.defaultText;
  if (flag.kind === 'switch' || flag.default === undefined) return undefined;
  if (typeof flag.default === 'function') throw new Error(`--${name}: a default computed from the environment needs a defaultText`);
  return `\`${flag.default}\``;
}

/** Words of `text` (and `unbroken`, whole) in lines of at most WIDTH - indent characters. */
export function wrap(text: string, indent: number, unbroken?: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of unbroken === undefined ? text.split(' ') : [...text.split(' '), unbroken]) {
    if (line !== '' && indent + line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  return [...lines, line];
}

/** One entry per flag and -h/--help, the help in a column after the longest synopsis, wrapped. */
export function flagUsage(table: FlagTable): string {
  const alignLong = Object.values(table).some((flag) => flag.short !== undefined);
  const rows = Object.entries(table).map(([name, flag]): [string, string, string | undefined] => {
    const shown = shownDefault(name, flag);
    return [synopsis(name, flag, alignLong), plain(flag.help), shown === undefined ? undefined : plain(`(default ${shown})`)];
  });
  rows.push(['-h, --help', 'this text', undefined]);
  const column = 2 + Math.max(...rows.map(([left]) => left.length)) + 2;
  return rows.flatMap(([left, help, shown]) =>
    wrap(help, column, shown).map((line, i) => (i === 0 ? `  ${left}`.padEnd(column) : ' '.repeat(column)) + line)).join('\n');
}

/** A row of a Markdown table: `|` in a cell (code spans included) is escaped. */
function markdownRow(cells: readonly string[]): string {
  return `| ${cells.map((cell) => cell.replaceAll('|', '\\|')).join(' | ')} |`;
}

export interface MarkdownOptions {
  /** An environment column (the operator's flags; explain's are said in prose). */
  env: boolean;
  /** Rows before the flags' own, already as cells (explain's KIND/NAME). */
  leading?: ReadonlyArray<readonly string[]>;
}

/** flag | [environment |] default | meaning. */
export function flagMarkdown(table: FlagTable, options: MarkdownOptions): string {
  const header = options.env ? ['flag', 'environment', 'default', 'meaning'] : ['flag', 'default', 'meaning'];
  const rows = Object.entries(table).map(([name, flag]) => {
    const shownFlag = `\`${synopsis(name, flag, false)}\``;
    const shown = shownDefault(name, flag) ?? (flag.kind === 'switch' ? 'false' : '—');
    const meaning = flag.details === undefined ? flag.help : `${flag.help} ${flag.details}`;
    const env = flag.env === undefined ? '—' : `\`${flag.env}\``;
    return options.env ? [shownFlag, env, shown, meaning] : [shownFlag, shown, meaning];
  });
  return [
    markdownRow(header),
    `|${header.map(() => '---').join('|')}|`,
    ...(options.leading ?? []).map(markdownRow),
    ...rows.map(markdownRow),
  ].join('\n');
}
