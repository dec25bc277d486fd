// `explain`'s command line: pure, argv and env in, the arguments or one precise error out
// (ConfigError; the caller exits 2). Kept apart from the operator's own flags (src/config.ts),
// whose parser is strict and takes no positional argument.
import { parseArgs } from 'node:util';
import { ConfigError, DEFAULTS, ENV, listOf, SOURCES } from '../config.ts';
import { isObjectName } from '../core/annotations.ts';
import type { WorkloadKind } from '../core/keys.ts';
import type { SourceKind } from '../core/types.ts';
import { parseLabelSelector } from './label-selector.ts';

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
}

/** The operator's --configmap-selector, --secret-selector and --exclude-secret-types. */
export interface WatchFilters {
  configMapSelector: string | undefined;
  secretSelector: string | undefined;
  excludedSecretTypes: string[];
}

export type ExplainParse = { help: true } | { help: false; args: ExplainArgs };

/** The namespace `manifests/` and the Helm chart install the operator (and its key) into. */
export const DEFAULT_DIGEST_KEY_NAMESPACE = 'config-reload-system';

export const EXPLAIN_USAGE = `Usage: config-reload-operator explain KIND/NAME [flags]
       kubectl config-reload explain KIND/NAME [flags]

Why did (or didn't) the operator roll a workload? Reads the workload, the ConfigMaps and Secrets
it consumes and the operator's digest key once, with your credentials, and prints what the
operator would do now and why — from the operator's own decision function. Writes nothing.

KIND/NAME: deployment/web, deploy/web, statefulset/db, sts/db, daemonset/agent, ds/agent
           (or KIND NAME as two arguments)

  -n, --namespace NS             the workload's namespace (default: the context's, else default)
      --kubeconfig PATH          kubeconfig file (else $KUBECONFIG, ~/.kube/config, in-cluster)
      --context NAME             a context of the kubeconfig other than its current one
  -o, --output FORMAT            text or json (default text)
      --digest-key-secret NAME   the operator's digest key Secret (default ${DEFAULTS.digestKeySecret})
      --digest-key-namespace NS  its namespace (default ${DEFAULT_DIGEST_KEY_NAMESPACE})
      --config-sources LIST      the operator's --config-sources (default ${DEFAULTS.configSources})
      --configmap-selector SEL   the operator's --configmap-selector (default: none)
      --secret-selector SEL      the operator's --secret-selector (default: none)
      --exclude-secret-types L   the operator's --exclude-secret-types (default ${DEFAULTS.excludeSecretTypes})
  -h, --help                     this text

The digest key and the last four flags, and their CONFIG_RELOAD_* variables, mean what they mean
for the operator: pass the values it runs with (an object its watches filter out is absent to it). Exit codes: 0 explained, 1 the workload was not found or
could not be read, 2 bad usage.`;

const KINDS: Readonly<Record<string, WorkloadKind>> = {
  deployment: 'Deployment', deployments: 'Deployment', deploy: 'Deployment',
  statefulset: 'StatefulSet', statefulsets: 'StatefulSet', sts: 'StatefulSet',
  daemonset: 'DaemonSet', daemonsets: 'DaemonSet', ds: 'DaemonSet',
};

/** `deploy`, `Deployment`, `deployments.apps`, `statefulset.apps/v1`… → the kind; undefined otherwise. */
export function workloadKindOf(raw: string): WorkloadKind | undefined {
  const lower = raw.toLowerCase();
  const m = /^([a-z]+)(?:\.apps(?:\/v1)?)?$/.exec(lower);
  return m ? KINDS[m[1] as string] : undefined;
}

export function parseExplainArgs(argv: string[], env: Record<string, string | undefined>): ExplainParse {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        namespace: { type: 'string', short: 'n' },
        kubeconfig: { type: 'string' },
        context: { type: 'string' },
        output: { type: 'string', short: 'o' },
        'digest-key-secret': { type: 'string' },
        'digest-key-namespace': { type: 'string' },
        'config-sources': { type: 'string' },
        'configmap-selector': { type: 'string' },
        'secret-selector': { type: 'string' },
        'exclude-secret-types': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new ConfigError((err as Error).message.split('\n')[0] ?? 'invalid arguments');
  }
  const v = parsed.values;
  if (v.help) return { help: true };

  const { kind, name } = target(parsed.positionals);
  const namespace = v.namespace;
  if (namespace !== undefined && !isObjectName(namespace)) throw new ConfigError(`--namespace ${JSON.stringify(namespace)}: not a valid namespace name`);
  const output = v.output ?? 'text';
  if (output !== 'text' && output !== 'json') throw new ConfigError(`--output ${JSON.stringify(output)}: expected text or json`);
  const fromEnv = (flag: keyof typeof ENV): string | undefined => {
    const value = env[ENV[flag]];
    return value === undefined || value === '' ? undefined : value;
  };
  const digestKeySecret = v['digest-key-secret'] ?? fromEnv('digest-key-secret') ?? DEFAULTS.digestKeySecret;
  const digestKeyNamespace = v['digest-key-namespace'] ?? fromEnv('digest-key-namespace') ?? DEFAULT_DIGEST_KEY_NAMESPACE;
  for (const [flag, value] of [['--digest-key-secret', digestKeySecret], ['--digest-key-namespace', digestKeyNamespace]] as const) {
    if (!isObjectName(value)) throw new ConfigError(`${flag} ${JSON.stringify(value)}: not a valid Kubernetes object name`);
  }
  return {
    help: false,
    args: {
      kind, name, namespace,
      kubeconfig: v.kubeconfig,
      context: v.context,
      output,
      digestKeySecret,
      digestKeyNamespace,
      sourceKinds: listOf('--config-sources', v['config-sources'] ?? fromEnv('config-sources') ?? DEFAULTS.configSources, SOURCES),
      watchFilters: {
        configMapSelector: selector('--configmap-selector', v['configmap-selector'] ?? fromEnv('configmap-selector')),
        secretSelector: selector('--secret-selector', v['secret-selector'] ?? fromEnv('secret-selector')),
        // "" on purpose excludes nothing, so only an unset flag and variable fall back to the default.
        excludedSecretTypes: secretTypes(v['exclude-secret-types'] ?? env[ENV['exclude-secret-types']] ?? DEFAULTS.excludeSecretTypes),
      },
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
    throw new ConfigError(`${JSON.stringify(kindText)} is not a kind the operator rolls: expected deployment (deploy), statefulset (sts) or daemonset (ds)`);
  }
  if (!isObjectName(name)) throw new ConfigError(`${JSON.stringify(name)} is not a valid ${kind} name`);
  return { kind, name };
}

function selector(flag: string, raw: string | undefined): string | undefined {
  const text = raw?.trim();
  if (text === undefined || text === '') return undefined;
  try {
    parseLabelSelector(text);
  } catch (err) {
    throw new ConfigError(`${flag} ${JSON.stringify(raw)}: not a label selector: ${(err as Error).message}`);
  }
  return text;
}

function secretTypes(raw: string): string[] {
  const types = raw.split(',').map((t) => t.trim()).filter((t) => t !== '');
  for (const type of types) {
    if (!/^[A-Za-z0-9._/-]+$/.test(type)) throw new ConfigError(`--exclude-secret-types: ${JSON.stringify(type)} is not a Secret type`);
  }
  return types;
}
