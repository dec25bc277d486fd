// What a flag table is (one entry per flag: environment variable, default, help, parser), and the
// one reader of every table: argv and env in, each flag's value or one ConfigError out. The
// operator's table is flags.ts; explain's (src/explain/args.ts) is its own flags and a subset of
// the operator's. Their --help and the README's tables are rendered from them (help.ts).
import { parseArgs } from 'node:util';
import { ConfigError } from '../core/errors.ts';
import type { OptionalParser, Parser } from './values.ts';

export type Env = Readonly<Record<string, string | undefined>>;

interface Described {
  /** `-x`, besides `--name`. */
  readonly short?: string;
  /** The environment variable read when the flag is not given (the flag wins). */
  readonly env?: string;
  /** The meaning, for --help and the README. Backticks mark literals (dropped in --help). */
  readonly help: string;
  /** More, for the README's table only: appended to the help. */
  readonly details?: string;
  /** The default as shown, where it is not a plain value: `all namespaces`, `$POD_NAMESPACE`… */
  readonly defaultText?: string;
}

/** `--name` alone turns it on; its variable takes true|1|yes or false|0|no. Off by default. */
export interface SwitchFlag extends Described {
  readonly kind: 'switch';
}

interface ValueBase extends Described {
  readonly kind: 'value';
  /** What the value is, in --help and the README: `DURATION`, `N`, `NS[,NS…]`. */
  readonly arg: string;
  /** An empty variable is a value ("" meaning none), not unset. An empty flag always is a value. */
  readonly keepEmpty?: boolean;
  /** Given more than once, its values reach the parser joined by newlines. */
  readonly repeatable?: boolean;
}

export interface DefaultedFlag<T> extends ValueBase {
  /** Parsed like a given value. A function when it depends on the environment (give defaultText). */
  readonly default: string | ((env: Env) => string);
  readonly parse: Parser<T>;
}

export interface OptionalFlag<T> extends ValueBase {
  readonly default?: undefined;
  /** Called with undefined when neither the flag nor its variable is set. */
  readonly parse: OptionalParser<T>;
}

/**
 * Error messages quote the value they refuse, so no flag takes key material: it comes from a file
 * or a Secret (--digest-key-file, --digest-key-secret). The one secret a flag may take, a webhook
 * URL (--notify-url), has a parser that never quotes it (src/config/notify-targets.ts).
 */
export type Flag = SwitchFlag | DefaultedFlag<unknown> | OptionalFlag<unknown>;
export type FlagTable = Readonly<Record<string, Flag>>;

/** A flag that takes a value. */
export function value<T>(flag: Omit<DefaultedFlag<T>, 'kind'>): DefaultedFlag<T>;
export function value<T>(flag: Omit<OptionalFlag<T>, 'kind'>): OptionalFlag<T>;
export function value<T>(flag: Omit<DefaultedFlag<T> | OptionalFlag<T>, 'kind'>): DefaultedFlag<T> | OptionalFlag<T> {
  return { kind: 'value', ...flag } as DefaultedFlag<T> | OptionalFlag<T>;
}

/** A flag that is on or off. */
export function toggle(flag: Omit<SwitchFlag, 'kind'>): SwitchFlag {
  return { kind: 'switch', ...flag };
}

export type ValueOf<F> = F extends { readonly parse: (...args: never[]) => infer T } ? T : boolean;
export type FlagValues<T extends FlagTable> = { -readonly [K in keyof T]: ValueOf<T[K]> };
export type FlagRead<T extends FlagTable> = { help: true } | { help: false; values: FlagValues<T>; positionals: string[] };

/**
 * Every flag of `table` (and -h/--help), from the command line, else its variable, else its
 * default, parsed in the table's order. A usage error (an unknown flag, a missing value, a
 * positional argument where none is allowed) comes first, then --help, then the values.
 */
export function readFlags<T extends FlagTable>(table: T, argv: readonly string[], env: Env, allowPositionals = false): FlagRead<T> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, flag] of Object.entries(table)) {
    options[name] = {
      type: flag.kind === 'switch' ? 'boolean' : 'string', ...(flag.short === undefined ? {} : { short: flag.short }),
      ...(flag.kind === 'value' && flag.repeatable ? { multiple: true } : {}),
    };
  }
  options.help = { type: 'boolean', short: 'h' };
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], strict: true, allowPositionals, options });
  } catch (err) {
    throw new ConfigError((err as Error).message.split('\n')[0] ?? 'invalid arguments');
  }
  if (parsed.values.help === true) return { help: true };
  const values: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(table)) values[name] = valueOf(name, flag, parsed.values[name], env);
  return { help: false, values: values as FlagValues<T>, positionals: parsed.positionals };
}

function valueOf(name: string, flag: Flag, given: unknown, env: Env): unknown {
  const fromEnv = flag.env === undefined ? undefined : env[flag.env];
  if (flag.kind === 'switch') {
    if (typeof given === 'boolean') return given;
    if (fromEnv === undefined || fromEnv === '') return false;
    if (/^(true|1|yes)$/i.test(fromEnv)) return true;
    if (/^(false|0|no)$/i.test(fromEnv)) return false;
    throw new ConfigError(`${flag.env}=${JSON.stringify(fromEnv)}: expected true or false`);
  }
  const raw = Array.isArray(given) ? given.join('\n') : typeof given === 'string' ? given : fromEnv === '' && !flag.keepEmpty ? undefined : fromEnv;
  if (flag.default === undefined) return flag.parse(raw, `--${name}`);
  return flag.parse(raw ?? (typeof flag.default === 'function' ? flag.default(env) : flag.default), `--${name}`);
}
