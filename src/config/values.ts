// The value parsers of the flag table (flags.ts): each takes the raw text of one flag (from the
// command line, its variable or its default) and the flag's name, and returns the value or throws
// one ConfigError that names the flag. Pure.
import { isObjectName } from '../core/annotations.ts';
import { durationMs } from '../core/duration.ts';
import { ConfigError } from '../core/errors.ts';
import { parseLabelSelector } from '../core/label-selector.ts';
import { MAX_TIMER_MS } from '../time/clock.ts';

/** A flag's value from its raw text; `flag` is `--name`, for the error. */
export type Parser<T> = (raw: string, flag: string) => T;
/** The parser of a flag without a default: `raw` is undefined when neither the flag nor its variable is set. */
export type OptionalParser<T> = (raw: string | undefined, flag: string) => T;

function invalid(flag: string, raw: string, why: string): ConfigError {
  return new ConfigError(`${flag} ${JSON.stringify(raw)}: ${why}`);
}

/** The text as given. */
export const text: Parser<string> = (raw) => raw;
/** The text as given; unset stays undefined. */
export const optionalText: OptionalParser<string | undefined> = (raw) => raw;

/** The longest duration any flag takes, as said in its error: 2³¹−1 ms, just under 596h 31m. */
export const MAX_DURATION_TEXT = '596h (2147483647 ms, the longest timer Node.js can arm)';

/**
 * `250ms`, `2s`, `1.5m`, `1h` or `0`, in milliseconds; at most MAX_TIMER_MS. Refused, not
 * clamped: every duration flag is a timer, and a longer one would be taken for 1 ms (a 1000h
 * watchdog re-opened its watch at once, 640 times in 2 s); no flag means "25 days or more".
 */
export function parseDuration(flag: string, raw: string): number {
  const ms = durationMs(raw);
  if (ms === undefined) throw invalid(flag, raw, 'expected a duration such as 500ms, 2s, 5m or 0');
  if (!(ms <= MAX_TIMER_MS)) throw invalid(flag, raw, `too long: at most ${MAX_DURATION_TEXT}`);
  return ms;
}

/** A duration in milliseconds; `rule` (e.g. "must be at least 1s") refuses what `ok` does not hold. */
export function duration(ok: (ms: number) => boolean = () => true, rule = ''): Parser<number> {
  return (raw, flag) => {
    const ms = parseDuration(flag, raw);
    if (!ok(ms)) throw invalid(flag, raw, rule);
    return ms;
  };
}

/** A whole number in [min, max]. */
export function integer(min: number, max: number): Parser<number> {
  return (raw, flag) => {
    if (!/^\d+$/.test(raw.trim())) throw invalid(flag, raw, 'expected a whole number');
    const n = Number(raw);
    if (n < min || n > max) throw new ConfigError(`${flag} ${n}: must be between ${min} and ${max}`);
    return n;
  };
}

/** One of `allowed`, exactly. */
export function oneOf<T extends string>(allowed: readonly T[]): Parser<T> {
  return (raw, flag) => {
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    throw invalid(flag, raw, `expected one of ${allowed.join(', ')}`);
  };
}

/** A comma list of names from `allowed`, at least one, each once, in the order of `allowed`. */
function listOf<T>(flag: string, raw: string, allowed: Readonly<Record<string, T>>): T[] {
  const names = raw.split(',').map((n) => n.trim().toLowerCase()).filter((n) => n !== '');
  const unknown = names.filter((n) => !(n in allowed));
  if (names.length === 0 || unknown.length > 0) throw invalid(flag, raw, `expected a comma list of ${Object.keys(allowed).join(', ')}`);
  return Object.entries(allowed).filter(([n]) => names.includes(n)).map(([, kind]) => kind);
}

export function kinds<T>(allowed: Readonly<Record<string, T>>): Parser<T[]> {
  return (raw, flag) => listOf(flag, raw, allowed);
}

/** A Kubernetes object name (DNS-1123 subdomain). */
export const objectName: Parser<string> = (raw, flag) => {
  if (!isObjectName(raw)) throw invalid(flag, raw, 'not a valid Kubernetes object name');
  return raw;
};

/** Namespace names, comma-separated, each once, sorted; none (unset or empty): every namespace. */
export const namespaceList: OptionalParser<string[]> = (raw, flag) => {
  const names = [...new Set((raw ?? '').split(',').map((n) => n.trim()).filter((n) => n !== ''))];
  for (const name of names) {
    // A namespace name is a DNS-1123 label.
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name)) throw new ConfigError(`${flag}: ${JSON.stringify(name)} is not a namespace name`);
  }
  return names.sort();
};

/**
 * A label selector, checked by the parser explain evaluates it with (src/core/label-selector.ts,
 * the apiserver's grammar) and passed to the apiserver as given: one it would refuse failed
 * every list with 400, forever. Unset or blank: no selector.
 */
export const labelSelector: OptionalParser<string | undefined> = (raw, flag) => {
  const trimmed = raw?.trim() ?? '';
  if (raw === undefined || trimmed === '') return undefined;
  try {
    parseLabelSelector(trimmed);
  } catch (err) {
    throw invalid(flag, raw, `not a label selector: ${(err as Error).message} (e.g. app=web,tier!=cache or env in (prod,staging))`);
  }
  return trimmed;
};

/** Secret types, comma-separated; "" is none. */
export const secretTypes: Parser<string[]> = (raw, flag) => {
  const types = raw.split(',').map((t) => t.trim()).filter((t) => t !== '');
  for (const type of types) {
    // A field selector value cannot hold ',' or '=' or '!', and a Secret type has no spaces.
    if (!/^[A-Za-z0-9._/-]+$/.test(type)) throw new ConfigError(`${flag}: ${JSON.stringify(type)} is not a Secret type`);
  }
  return types;
};

/**
 * `[HOST]:PORT`, or `off`: port -1. No host: every interface of both stacks (host '', which the
 * HTTP server binds as `::`, dual-stack, falling back to 0.0.0.0 without IPv6); `0.0.0.0:PORT`
 * is IPv4 only; an IPv6 address in brackets, `[::1]:8080`.
 */
export const httpAddr: Parser<{ host: string; port: number }> = (raw, flag) => {
  if (raw === 'off') return { host: '', port: -1 };
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^[\]:]*):(\d+)$/.exec(raw);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw invalid(flag, raw, 'expected [HOST]:PORT (an IPv6 address in brackets, [::1]:8080) or off');
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
};
