// `explain`'s command line: pure, argv and env in, the arguments or one precise error out
// (ConfigError; the caller exits 2). Its flags are a table (src/config/spec.ts): its own, and the
// operator's flags that say what the operator watches, taken from the operator's table
// (src/config/flags.ts) with their variables and validation, so that explain takes exactly the
// values the operator takes. Unlike the operator's, this command line takes positional arguments.
import { FLAGS, type FlagName } from '../config/flags.ts';
import { flagUsage, plain, wrap } from '../config/help.ts';
import { type Flag, type FlagTable, readFlags, value } from '../config/spec.ts';
import { optionalText } from '../config/values.ts';
import { isObjectName } from '../core/annotations.ts';
import { ConfigError } from '../core/errors.ts';
import type { WorkloadKind } from '../core/keys.ts';
import { KINDS_BY_NAME, kindSpec } from '../core/kinds.ts';
import type { Peer } from '../core/peer-annotations.ts';
import type { SourceKind } from '../core/types.ts';
import type { NamespaceScope } from './namespace-scope.ts';

export type OutputFormat = 'text' | 'json';

export interface ExplainArgs {
  kind: WorkloadKind;
  name: string;
  /** undefined: the kubeconfig context's namespace, else `default` (as kubectl). */
  namespace: string | undefined;
  kubeconfig: string | undefined;
  context: string | undefined;
  output: OutputFormat;
  /** Where the operator's digest key lives (the operator's --digest-key-secret/--digest-key-namespace). */
  digestKeyNamespace: string;
  digestKeySecret: string;
  /** The kinds of config object the operator watches (its --config-sources). */
  sourceKinds: SourceKind[];
  /** What the operator's watches filter out: an object outside them is absent to it. */
  watchFilters: WatchFilters;
  /** The peers whose opt-in annotations the operator honours (its --accept-annotations). */
  acceptAnnotations: Peer[];
  /** The operator's --max-keys-per-object: an object with more keys holds its consumers. */
  maxKeysPerObject: number;
  /** The operator's --namespace-selector and --exclude-namespaces: whether it watches the namespace at all. */
  namespaceScope: NamespaceScope;
}

/** The operator's --configmap-selector, --secret-selector and --exclude-secret-types. */
export interface WatchFilters {
  configMapSelector: string | undefined;
  secretSelector: string | undefined;
  excludedSecretTypes: string[];
}

export type ExplainParse = { help: true } | { help: false; args: ExplainArgs };

/** An operator flag explain reads too: the operator's variable, default and parser, in explain's own words. */
function operatorFlag<K extends FlagName>(
  name: K, own: Partial<Pick<Flag, 'help' | 'details' | 'defaultText'>> & { env?: undefined },
): (typeof FLAGS)[K] {
  return { ...FLAGS[name], ...own };
}

const workloadNamespace = (raw: string | undefined, flag: string): string | undefined => {
  if (raw !== undefined && !isObjectName(raw)) throw new ConfigError(`${flag} ${JSON.stringify(raw)}: not a valid namespace name`);
  return raw;
};

const outputFormat = (raw: string, flag: string): OutputFormat => {
  if (raw !== 'text' && raw !== 'json') throw new ConfigError(`${flag} ${JSON.stringify(raw)}: expected text or json`);
  return raw;
};

export const EXPLAIN_FLAGS = {
  namespace: value({
    short: 'n', arg: 'NS', parse: workloadNamespace, defaultText: 'the context\'s, else `default`',
    help: 'the workload\'s namespace',
  }),
  // No variable: the kubeconfig loader reads $KUBECONFIG itself, as kubectl does (a list of files too).
  kubeconfig: operatorFlag('kubeconfig', { env: undefined }),
  context: value({ arg: 'NAME', parse: optionalText, help: 'a context of the kubeconfig other than its current one' }),
  output: value({ short: 'o', arg: 'FORMAT', default: 'text', parse: outputFormat, help: '`text` or `json`' }),
  'digest-key-secret': operatorFlag('digest-key-secret', { help: 'the operator\'s digest key Secret', details: '(its flag of the same name)' }),
  // The operator's default too: run with the same environment, the two look in the same place.
  'digest-key-namespace': operatorFlag('digest-key-namespace', {
    help: 'its namespace', details: '(the operator\'s default: where `manifests/` and the chart install it)',
  }),
  'config-sources': operatorFlag('config-sources', {
    help: 'the operator\'s `--config-sources`',
    details: '(a ConfigMaps-only operator does not follow Secret references, and explain lists them as not followed)',
  }),
  'configmap-selector': operatorFlag('configmap-selector', {
    help: 'the operator\'s `--configmap-selector`',
    details: '(a ConfigMap outside it is absent to the operator, and explain says so: `yes, unwatched`)',
  }),
  'secret-selector': operatorFlag('secret-selector', { help: 'the operator\'s `--secret-selector`', details: '(the same for Secrets)' }),
  'exclude-secret-types': operatorFlag('exclude-secret-types', {
    help: 'the operator\'s `--exclude-secret-types`', details: '(a Secret of such a type is absent to it)',
  }),
  'namespace-selector': operatorFlag('namespace-selector', {
    help: 'the operator\'s `--namespace-selector`', details: '(explain reads the Namespace, and a workload in one that does not match is decided by nobody)',
  }),
  'exclude-namespaces': operatorFlag('exclude-namespaces', { help: 'the operator\'s `--exclude-namespaces`', details: '(the same)' }),
  'accept-annotations': operatorFlag('accept-annotations', {
    help: 'the operator\'s `--accept-annotations`', details: '(a workload opted in by a peer\'s annotations is explained as the operator reads it)',
  }),
  'max-keys-per-object': operatorFlag('max-keys-per-object', {
    help: 'the operator\'s `--max-keys-per-object`', details: '(an object with more keys holds the workload: `source_over_budget`)',
  }),
} satisfies FlagTable;

/** The workload argument, for --help and the README. */
export const TARGET_HELP = '`deployment/web`, `deploy/web`, `statefulset/db`, `sts/db`, `daemonset/agent`, `ds/agent`, `deployments.apps/web`, `rollout/web`, `cloneset/web`, `ksvc/web` (docs/workload-kinds.md); or `KIND NAME` as two arguments';

export const EXPLAIN_USAGE = `Usage: config-reload-operator explain KIND/NAME [flags]
       kubectl config-reload explain KIND/NAME [flags]

Why did (or didn't) the operator roll a workload? Reads the workload, the ConfigMaps and Secrets
it consumes and the operator's digest key once, with your credentials, and prints what the
operator would do now and why — from the operator's own decision function. Writes nothing.

${wrap(plain(TARGET_HELP), 11).map((line, i) => (i === 0 ? 'KIND/NAME: ' : ' '.repeat(11)) + line).join('\n')}

${flagUsage(EXPLAIN_FLAGS)}

The digest key and the flags after it, and their CONFIG_RELOAD_* variables, mean what they mean
for the operator: pass the values it runs with (an object its watches filter out is absent to it). Exit codes: 0 explained, 1 the workload was not found or
could not be read, 2 bad usage.`;

/**
 * `deploy`, `Deployment`, `deployments.apps`, `statefulset.apps/v1`, `rollout`,
 * `rollouts.argoproj.io`, `ksvc`… → the kind (src/core/kinds.ts); undefined otherwise. A group,
 * when given, must be the kind's (`service` alone is the core Service: not a workload).
 */
export function workloadKindOf(raw: string): WorkloadKind | undefined {
  const m = /^([a-z]+)(?:\.([a-z0-9.-]+?))?(?:\/[a-z0-9]+)?$/.exec(raw.toLowerCase());
  if (!m) return undefined;
  const name = m[1] as string;
  const group = m[2];
  if (group === undefined) return KINDS_BY_NAME[name];
  const kind = KINDS_BY_NAME[`${name}.${group}`] ?? KINDS_BY_NAME[name];
  return kind !== undefined && kindSpec(kind).group === group ? kind : undefined;
}

export function parseExplainArgs(argv: string[], env: Record<string, string | undefined>): ExplainParse {
  const read = readFlags(EXPLAIN_FLAGS, argv, env, true);
  if (read.help) return { help: true };
  const v = read.values;
  const { kind, name } = target(read.positionals);
  return {
    help: false,
    args: {
      kind, name,
      namespace: v.namespace,
      kubeconfig: v.kubeconfig,
      context: v.context,
      output: v.output,
      digestKeySecret: v['digest-key-secret'],
      digestKeyNamespace: v['digest-key-namespace'],
      sourceKinds: v['config-sources'],
      watchFilters: {
        // Checked by the operator's parser, the one explain evaluates them with.
        configMapSelector: v['configmap-selector'],
        secretSelector: v['secret-selector'],
        excludedSecretTypes: v['exclude-secret-types'],
      },
      acceptAnnotations: v['accept-annotations'],
      maxKeysPerObject: v['max-keys-per-object'],
      namespaceScope: { selector: v['namespace-selector'], exclude: v['exclude-namespaces'] },
    },
  };
}

function target(positionals: string[]): { kind: WorkloadKind; name: string } {
  let kindText: string;
  let name: string;
  if (positionals.length === 1 && positionals[0]!.includes('/')) {
    const at = positionals[0]!.indexOf('/');
    kindText = positionals[0]!.slice(0, at);
    name = positionals[0]!.slice(at + 1);
  } else if (positionals.length === 2 && !positionals[0]!.includes('/')) {
    [kindText, name] = positionals as [string, string];
  } else if (positionals.length === 0) {
    throw new ConfigError('which workload? expected KIND/NAME, e.g. deployment/web (see --help)');
  } else {
    throw new ConfigError(`expected one workload as KIND/NAME or KIND NAME, got ${positionals.map((p) => JSON.stringify(p)).join(' ')}`);
  }
  const kind = workloadKindOf(kindText);
  if (kind === undefined) {
    throw new ConfigError(`${JSON.stringify(kindText)} is not a kind the operator rolls: expected deployment (deploy), statefulset (sts), daemonset (ds), rollout, cloneset or ksvc`);
  }
  if (!isObjectName(name)) throw new ConfigError(`${JSON.stringify(name)} is not a valid ${kind} name`);
  return { kind, name };
}
