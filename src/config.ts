// Start-up configuration: flags, each with an environment-variable equivalent (the flag wins).
// Pure: argv and env in, a Config or one precise error out; main() turns the error into exit 2.
// The flags themselves (variables, defaults, help, validation) are one table: src/config/flags.ts.
import { ConfigError } from './core/errors.ts';
import type { WorkloadKind } from './core/keys.ts';
import type { TemplateOrder } from './core/ordering.ts';
import type { Peer } from './core/peer-annotations.ts';
import type { SourceKind } from './core/types.ts';
import { FLAGS, type LogFormat, type LogLevel } from './config/flags.ts';
import { flagUsage } from './config/help.ts';
import { type Env, readFlags } from './config/spec.ts';
import type { NotifyTarget } from './config/notify-targets.ts';

export { ConfigError } from './core/errors.ts';
export type { TemplateOrder } from './core/ordering.ts';
export type { LogFormat, LogLevel } from './config/flags.ts';
export { parseDuration } from './config/values.ts';

export interface Config {
  kubeconfig: string | undefined;
  /** Watch only these namespaces (one watch each); empty: every namespace. */
  namespaces: string[];
  /**
   * Watch the namespaces whose labels match (a Namespace watch opens and closes their watches:
   * src/controller/namespaces.ts); undefined: `namespaces` says. Never both.
   */
  namespaceSelector: string | undefined;
  /** Never watched, whichever way the others are chosen (already taken out of `namespaces`). */
  excludeNamespaces: string[];
  /** Label selectors the apiserver applies to the ConfigMap and Secret watches. */
  configMapSelector: string | undefined;
  secretSelector: string | undefined;
  dryRun: boolean;
  debounceMs: number;
  workers: number;
  resyncPeriodMs: number;
  /** A watch with no event and no bookmark for this long is cut and re-opened (the reflector's watchdog). */
  watchIdleTimeoutMs: number;
  /** The write budget of rolls (configuration changes): writes per second and burst. */
  qps: number;
  burst: number;
  /** The write budget of adoptions and re-recordings (housekeeping), served after rolls: writes per second. */
  adoptionQps: number;
  /**
   * How the order of a pod-template change and a configuration change is established:
   * 'resource-version' compares their resourceVersions (one etcd for both types, the default);
   * 'off' orders by arrival (docs/architecture.md, "What the pods run").
   */
  templateOrder: TemplateOrder;
  /** A change of a config object with more opted-in consumers than this rolls in waves; 0: never (docs/architecture.md, "Waves"). */
  waveThreshold: number;
  /** Canaries when no consumer is annotated config-reload.dev/canary. */
  canarySize: number;
  /** Waves after the canary wave. */
  waves: number;
  /** A wave not healthy this long after its roll has failed: the rest is held. */
  waveTimeoutMs: number;
  /** Kinds of config object watched (--config-sources). */
  sourceKinds: SourceKind[];
  /** Kinds of workload watched and patched (--workload-kinds). */
  workloadKinds: WorkloadKind[];
  /** The apiserver-side filter on the Secret watch: `type!=…` for every excluded type. */
  secretFieldSelector: string | undefined;
  /** Where the installation's digest key lives (created there on first start). */
  digestKeyNamespace: string;
  digestKeySecret: string;
  /** A file holding the key (base64 of at least 32 bytes) instead of the Secret: no Secret access at all. */
  digestKeyFile: string | undefined;
  logLevel: LogLevel;
  logFormat: LogFormat;
  httpHost: string;
  /** -1 disables the HTTP server. */
  httpPort: number;
  leaderElect: boolean;
  leaderElectionNamespace: string;
  leaderElectionId: string;
  leaseDurationMs: number;
  identity: string;
  /** Peers whose opt-in annotations are honoured, mapped to this operator's (src/core/peer-annotations.ts). */
  acceptAnnotations: Peer[];
  /** A config object with more keys is digested whole and its consumers held (src/core/digest.ts). */
  maxKeysPerObject: number;
  /** Webhooks told of rolls, held waves and refused writes (src/notify/); their URLs are secrets. */
  notifyTargets: NotifyTarget[];
  /** More of them, one per line, read at start (a mounted Secret). */
  notifyUrlFile: string | undefined;
}

export const USAGE = `Usage: config-reload-operator [flags]
       config-reload-operator explain KIND/NAME [flags]   why did (or didn't) it roll? (explain --help)
       config-reload-operator --version                   its version (and the git revision built)

${flagUsage(FLAGS)}

Every flag can also be set with the environment variable shown in docs/flags.md
(CONFIG_RELOAD_<FLAG>, e.g. CONFIG_RELOAD_DRY_RUN=true); a flag wins over its variable.
Durations: 250ms, 2s, 5m, 1h, or 0; at most 596h.`;

export type ParseResult = { help: true } | { help: false; config: Config };

export function parseConfig(argv: string[], env: Env): ParseResult {
  const read = readFlags(FLAGS, argv, env);
  if (read.help) return { help: true };
  const v = read.values;
  if (v['leader-elect'] && !v['leader-election-namespace']) {
    throw new ConfigError('--leader-elect needs --leader-election-namespace (or POD_NAMESPACE)');
  }
  const excluded = v['exclude-secret-types'];
  const namespaces = namespaceScope(v.namespace, v['namespace-selector'], v['exclude-namespaces']);
  return {
    help: false,
    config: {
      kubeconfig: v.kubeconfig,
      namespaces,
      namespaceSelector: v['namespace-selector'],
      excludeNamespaces: v['exclude-namespaces'],
      configMapSelector: v['configmap-selector'],
      secretSelector: v['secret-selector'],
      dryRun: v['dry-run'],
      debounceMs: v.debounce,
      workers: v.workers,
      resyncPeriodMs: v['resync-period'],
      watchIdleTimeoutMs: v['watch-idle-timeout'],
      qps: v.qps,
      burst: v.burst,
      adoptionQps: v['adoption-qps'],
      templateOrder: v['template-order'],
      waveThreshold: v['wave-threshold'],
      canarySize: v['canary-size'],
      waves: v.waves,
      waveTimeoutMs: v['wave-timeout'],
      sourceKinds: v['config-sources'],
      workloadKinds: v['workload-kinds'],
      acceptAnnotations: v['accept-annotations'],
      maxKeysPerObject: v['max-keys-per-object'],
      secretFieldSelector: excluded.length === 0 ? undefined : excluded.map((type) => `type!=${type}`).join(','),
      digestKeySecret: v['digest-key-secret'],
      digestKeyNamespace: v['digest-key-namespace'],
      digestKeyFile: v['digest-key-file'],
      logLevel: v['log-level'],
      logFormat: v['log-format'],
      httpHost: v['http-addr'].host,
      httpPort: v['http-addr'].port,
      leaderElect: v['leader-elect'],
      leaderElectionNamespace: v['leader-election-namespace'],
      leaderElectionId: v['leader-election-id'],
      leaseDurationMs: v['lease-duration'],
      notifyTargets: v['notify-url'],
      notifyUrlFile: v['notify-url-file'],
      identity: env.POD_NAME || `${env.HOSTNAME || 'config-reload-operator'}-${process.pid}`,
    },
  };
}

/**
 * The namespaces watched: a list and a selector exclude each other (a list is the install
 * without cluster-wide permissions, a selector needs list/watch on Namespaces); an exclusion
 * applies to either, and leaving a list empty by it is an error, not "every namespace".
 */
function namespaceScope(list: string[], selector: string | undefined, exclude: string[]): string[] {
  if (list.length > 0 && selector !== undefined) {
    throw new ConfigError('--namespace and --namespace-selector exclude each other: list the namespaces, or select them by label');
  }
  const kept = list.filter((ns) => !exclude.includes(ns));
  if (list.length > 0 && kept.length === 0) throw new ConfigError('--exclude-namespaces excludes every namespace of --namespace: nothing would be watched');
  return kept;
}
