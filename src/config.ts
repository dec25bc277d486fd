// Start-up configuration: flags, each with an environment-variable equivalent (the flag wins).
// Pure: argv and env in, a Config or one precise error out; main() turns the error into exit 2.
import { parseArgs } from 'node:util';
import { isObjectName } from './core/annotations.ts';
import { ConfigError } from './core/errors.ts';
import type { WorkloadKind } from './core/keys.ts';
import type { SourceKind } from './core/types.ts';

export type LogFormat = 'json' | 'text';
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
import type { TemplateOrder } from './core/ordering.ts';
export type { TemplateOrder } from './core/ordering.ts';

export interface Config {
  kubeconfig: string | undefined;
  /** Watch only these namespaces (one watch each); empty: every namespace. */
  namespaces: string[];
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
   * 'off' never establishes it, so every configuration change rolls.
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
}

export const DEFAULTS = {
  // One second covers a `helm upgrade` or `kubectl apply -f dir/`, which write their objects
  // within a few hundred milliseconds, while adding at most a second to a lone change.
  debounce: '1s',
  workers: 4,
  resyncPeriod: '10m',
  // Above the apiserver's bookmark interval (about a minute), so a healthy quiet watch is never cut.
  watchIdleTimeout: '150s',
  qps: 50,
  burst: 500,
  // 10,000 workloads adopt in about 8 minutes; real changes never wait for it (their own lane).
  adoptionQps: 20,
  templateOrder: 'resource-version' as TemplateOrder,
  // A shared trust bundle or logging config reaches dozens of workloads; a config object read
  // by a handful rolls at once as before.
  waveThreshold: 5,
  canarySize: 1,
  waves: 1,
  // The deployment controller's own progressDeadlineSeconds default.
  waveTimeout: '10m',
  configSources: 'configmaps,secrets',
  workloadKinds: 'deployments,statefulsets,daemonsets',
  excludeSecretTypes: 'helm.sh/release.v1',
  digestKeySecret: 'config-reload-digest-key',
  // Outside a cluster (no POD_NAMESPACE) the key goes where kubectl's defaults go.
  digestKeyNamespace: 'default',
  logLevel: 'info' as LogLevel,
  logFormat: 'json' as LogFormat,
  httpAddr: ':8080',
  leaseDuration: '15s',
  leaderElectionId: 'config-reload-operator',
};

/** flag name → environment variable. */
export const ENV = {
  kubeconfig: 'KUBECONFIG',
  namespace: 'CONFIG_RELOAD_NAMESPACE',
  'configmap-selector': 'CONFIG_RELOAD_CONFIGMAP_SELECTOR',
  'secret-selector': 'CONFIG_RELOAD_SECRET_SELECTOR',
  'dry-run': 'CONFIG_RELOAD_DRY_RUN',
  debounce: 'CONFIG_RELOAD_DEBOUNCE',
  workers: 'CONFIG_RELOAD_WORKERS',
  'resync-period': 'CONFIG_RELOAD_RESYNC_PERIOD',
  'watch-idle-timeout': 'CONFIG_RELOAD_WATCH_IDLE_TIMEOUT',
  qps: 'CONFIG_RELOAD_QPS',
  burst: 'CONFIG_RELOAD_BURST',
  'adoption-qps': 'CONFIG_RELOAD_ADOPTION_QPS',
  'template-order': 'CONFIG_RELOAD_TEMPLATE_ORDER',
  'wave-threshold': 'CONFIG_RELOAD_WAVE_THRESHOLD',
  'canary-size': 'CONFIG_RELOAD_CANARY_SIZE',
  waves: 'CONFIG_RELOAD_WAVES',
  'wave-timeout': 'CONFIG_RELOAD_WAVE_TIMEOUT',
  'config-sources': 'CONFIG_RELOAD_CONFIG_SOURCES',
  'workload-kinds': 'CONFIG_RELOAD_WORKLOAD_KINDS',
  'exclude-secret-types': 'CONFIG_RELOAD_EXCLUDE_SECRET_TYPES',
  'digest-key-secret': 'CONFIG_RELOAD_DIGEST_KEY_SECRET',
  'digest-key-namespace': 'CONFIG_RELOAD_DIGEST_KEY_NAMESPACE',
  'digest-key-file': 'CONFIG_RELOAD_DIGEST_KEY_FILE',
  'log-level': 'CONFIG_RELOAD_LOG_LEVEL',
  'log-format': 'CONFIG_RELOAD_LOG_FORMAT',
  'http-addr': 'CONFIG_RELOAD_HTTP_ADDR',
  'leader-elect': 'CONFIG_RELOAD_LEADER_ELECT',
  'leader-election-namespace': 'CONFIG_RELOAD_LEADER_ELECTION_NAMESPACE',
  'leader-election-id': 'CONFIG_RELOAD_LEADER_ELECTION_ID',
  'lease-duration': 'CONFIG_RELOAD_LEASE_DURATION',
} as const;

export const USAGE = `Usage: config-reload-operator [flags]
       config-reload-operator explain KIND/NAME [flags]   why did (or didn't) it roll? (explain --help)

  --kubeconfig PATH               kubeconfig file (else $KUBECONFIG, ~/.kube/config, in-cluster)
  --namespace NS[,NS…]            watch these namespaces only, one watch each (default: all namespaces)
  --configmap-selector SELECTOR   watch only the ConfigMaps with these labels (applied by the apiserver)
  --secret-selector SELECTOR      the same for Secrets
  --dry-run                       log every would-be adoption and roll; write nothing
  --debounce DURATION             coalesce a burst of changes into one roll (default ${DEFAULTS.debounce})
  --workers N                     concurrent reconciles (default ${DEFAULTS.workers})
  --resync-period DURATION        re-check every opted-in Deployment; 0 disables (default ${DEFAULTS.resyncPeriod})
  --watch-idle-timeout DURATION   re-open a watch that sent no event or bookmark for this long (default ${DEFAULTS.watchIdleTimeout})
  --qps N, --burst N              write budget of rolls: patches per second and burst; evaluations that
                                  write nothing are free (default ${DEFAULTS.qps}/s, burst ${DEFAULTS.burst}; 0 = unlimited)
  --adoption-qps N                write budget of adoptions and re-recordings, served after every roll
                                  (default ${DEFAULTS.adoptionQps}/s; 0 = unlimited)
  --template-order MODE           resource-version: a pod-template change written after the configuration
                                  changed carries it, no second roll; off: always roll (default ${DEFAULTS.templateOrder})
  --wave-threshold N              a change of a ConfigMap or Secret read by more than N opted-in workloads rolls
                                  in waves: canaries first, the rest once they are healthy; 0 = never (default ${DEFAULTS.waveThreshold})
  --canary-size N                 canaries when no workload is annotated config-reload.dev/canary (default ${DEFAULTS.canarySize})
  --waves N                       waves after the canary wave (default ${DEFAULTS.waves})
  --wave-timeout DURATION         a wave not healthy this long after its roll holds the rest (default ${DEFAULTS.waveTimeout})
  --config-sources LIST           configmaps,secrets or one of them (default ${DEFAULTS.configSources})
  --workload-kinds LIST           deployments,statefulsets,daemonsets or some (default ${DEFAULTS.workloadKinds})
  --exclude-secret-types LIST     Secret types never listed or watched; "" for none (default ${DEFAULTS.excludeSecretTypes})
  --digest-key-secret NAME        the Secret holding the digest key (default ${DEFAULTS.digestKeySecret})
  --digest-key-namespace NS       its namespace (default $POD_NAMESPACE, else ${DEFAULTS.digestKeyNamespace})
  --digest-key-file PATH          read the key from this file (a mounted Secret) instead: no Secret access
  --log-level LEVEL               error|warn|info|debug (default ${DEFAULTS.logLevel})
  --log-format FORMAT             json|text (default ${DEFAULTS.logFormat})
  --http-addr [HOST]:PORT         /healthz, /readyz, /metrics; "off" disables (default ${DEFAULTS.httpAddr})
  --leader-elect                  run active/standby on a Lease (default false)
  --leader-election-namespace NS  the Lease's namespace (default $POD_NAMESPACE)
  --leader-election-id NAME       the Lease's name (default ${DEFAULTS.leaderElectionId})
  --lease-duration DURATION       how long a dead leader holds the Lease (default ${DEFAULTS.leaseDuration})
  -h, --help                      this text

Every flag can also be set with the environment variable shown in the README
(CONFIG_RELOAD_<FLAG>, e.g. CONFIG_RELOAD_DRY_RUN=true); a flag wins over its variable.
Durations: 250ms, 2s, 5m, 1h, or 0.`;

export { ConfigError } from './core/errors.ts';

export type ParseResult = { help: true } | { help: false; config: Config };

export function parseConfig(argv: string[], env: Record<string, string | undefined>): ParseResult {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        kubeconfig: { type: 'string' },
        namespace: { type: 'string' },
        'configmap-selector': { type: 'string' },
        'secret-selector': { type: 'string' },
        'dry-run': { type: 'boolean' },
        debounce: { type: 'string' },
        workers: { type: 'string' },
        'resync-period': { type: 'string' },
        'watch-idle-timeout': { type: 'string' },
        qps: { type: 'string' },
        burst: { type: 'string' },
        'adoption-qps': { type: 'string' },
        'template-order': { type: 'string' },
        'wave-threshold': { type: 'string' },
        'canary-size': { type: 'string' },
        waves: { type: 'string' },
        'wave-timeout': { type: 'string' },
        'config-sources': { type: 'string' },
        'workload-kinds': { type: 'string' },
        'exclude-secret-types': { type: 'string' },
        'digest-key-secret': { type: 'string' },
        'digest-key-namespace': { type: 'string' },
        'digest-key-file': { type: 'string' },
        'log-level': { type: 'string' },
        'log-format': { type: 'string' },
        'http-addr': { type: 'string' },
        'leader-elect': { type: 'boolean' },
        'leader-election-namespace': { type: 'string' },
        'leader-election-id': { type: 'string' },
        'lease-duration': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new ConfigError((err as Error).message.split('\n')[0] ?? 'invalid arguments');
  }
  const v = parsed.values;
  if (v.help) return { help: true };
  const str = (flag: keyof typeof ENV, fallback?: string): string | undefined => {
    const fromFlag = v[flag as keyof typeof v];
    if (typeof fromFlag === 'string') return fromFlag;
    const fromEnv = env[ENV[flag]];
    return fromEnv !== undefined && fromEnv !== '' ? fromEnv : fallback;
  };
  const bool = (flag: keyof typeof ENV): boolean => {
    const fromFlag = v[flag as keyof typeof v];
    if (typeof fromFlag === 'boolean') return fromFlag;
    const raw = env[ENV[flag]];
    if (raw === undefined || raw === '') return false;
    if (/^(true|1|yes)$/i.test(raw)) return true;
    if (/^(false|0|no)$/i.test(raw)) return false;
    throw new ConfigError(`${ENV[flag]}=${JSON.stringify(raw)}: expected true or false`);
  };

  const logLevel = oneOf('--log-level', str('log-level', DEFAULTS.logLevel)!, ['error', 'warn', 'info', 'debug'] as const);
  const logFormat = oneOf('--log-format', str('log-format', DEFAULTS.logFormat)!, ['json', 'text'] as const);
  const { host, port } = parseHttpAddr(str('http-addr', DEFAULTS.httpAddr)!);
  const leaderElect = bool('leader-elect');
  const leaderElectionNamespace = str('leader-election-namespace', env.POD_NAMESPACE) ?? '';
  if (leaderElect && !leaderElectionNamespace) {
    throw new ConfigError('--leader-elect needs --leader-election-namespace (or POD_NAMESPACE)');
  }
  const workers = integer('--workers', str('workers', String(DEFAULTS.workers))!, 1, 1000);
  return {
    help: false,
    config: {
      kubeconfig: str('kubeconfig'),
      namespaces: namespaceList(str('namespace')),
      configMapSelector: labelSelector('--configmap-selector', str('configmap-selector')),
      secretSelector: labelSelector('--secret-selector', str('secret-selector')),
      dryRun: bool('dry-run'),
      debounceMs: parseDuration('--debounce', str('debounce', DEFAULTS.debounce)!),
      workers,
      resyncPeriodMs: parseDuration('--resync-period', str('resync-period', DEFAULTS.resyncPeriod)!),
      watchIdleTimeoutMs: watchIdleTimeout(str('watch-idle-timeout', DEFAULTS.watchIdleTimeout)!),
      qps: integer('--qps', str('qps', String(DEFAULTS.qps))!, 0, 100_000),
      burst: integer('--burst', str('burst', String(DEFAULTS.burst))!, 1, 1_000_000),
      adoptionQps: integer('--adoption-qps', str('adoption-qps', String(DEFAULTS.adoptionQps))!, 0, 100_000),
      templateOrder: oneOf('--template-order', str('template-order', DEFAULTS.templateOrder)!, ['resource-version', 'off'] as const),
      waveThreshold: integer('--wave-threshold', str('wave-threshold', String(DEFAULTS.waveThreshold))!, 0, 1_000_000),
      canarySize: integer('--canary-size', str('canary-size', String(DEFAULTS.canarySize))!, 1, 1_000_000),
      waves: integer('--waves', str('waves', String(DEFAULTS.waves))!, 1, 1000),
      waveTimeoutMs: waveTimeout(str('wave-timeout', DEFAULTS.waveTimeout)!),
      sourceKinds: listOf('--config-sources', str('config-sources', DEFAULTS.configSources)!, SOURCES),
      workloadKinds: listOf('--workload-kinds', str('workload-kinds', DEFAULTS.workloadKinds)!, WORKLOADS),
      secretFieldSelector: secretTypes(excludedSecretTypes(v['exclude-secret-types'], env)),
      digestKeySecret: objectName('--digest-key-secret', str('digest-key-secret', DEFAULTS.digestKeySecret)!),
      digestKeyNamespace: objectName('--digest-key-namespace', str('digest-key-namespace', env.POD_NAMESPACE || DEFAULTS.digestKeyNamespace)!),
      digestKeyFile: str('digest-key-file'),
      logLevel,
      logFormat,
      httpHost: host,
      httpPort: port,
      leaderElect,
      leaderElectionNamespace,
      leaderElectionId: str('leader-election-id', DEFAULTS.leaderElectionId)!,
      leaseDurationMs: leaseDuration(str('lease-duration', DEFAULTS.leaseDuration)!),
      identity: env.POD_NAME || `${hostnameOf(env)}-${process.pid}`,
    },
  };
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(flag: string, raw: string): number {
  const text = raw.trim();
  if (text === '0') return 0;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (!m) throw new ConfigError(`${flag} ${JSON.stringify(raw)}: expected a duration such as 500ms, 2s, 5m or 0`);
  return Math.round(Number(m[1]) * UNITS[m[2] as string]!);
}

/** 0 would cut every watch at once; below a second, a busy apiserver's first event could miss it. */
function watchIdleTimeout(raw: string): number {
  const ms = parseDuration('--watch-idle-timeout', raw);
  if (ms < 1000) throw new ConfigError(`--watch-idle-timeout ${JSON.stringify(raw)}: must be at least 1s`);
  return ms;
}

/** A Lease records its duration in whole seconds. */
function leaseDuration(raw: string): number {
  const ms = parseDuration('--lease-duration', raw);
  if (ms < 3000 || ms % 1000 !== 0) throw new ConfigError(`--lease-duration ${JSON.stringify(raw)}: must be whole seconds, at least 3s`);
  return ms;
}

function waveTimeout(raw: string): number {
  const ms = parseDuration('--wave-timeout', raw);
  if (ms <= 0) throw new ConfigError(`--wave-timeout ${JSON.stringify(raw)}: must be more than 0`);
  return ms;
}

function integer(flag: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${flag} ${JSON.stringify(raw)}: expected a whole number`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(`${flag} ${n}: must be between ${min} and ${max}`);
  return n;
}

export const SOURCES: Record<string, SourceKind> = { configmaps: 'ConfigMap', secrets: 'Secret' };
const WORKLOADS: Record<string, WorkloadKind> = { deployments: 'Deployment', statefulsets: 'StatefulSet', daemonsets: 'DaemonSet' };

/** A comma list of names from `allowed`, at least one, each once, in the order of `allowed`. */
export function listOf<T>(flag: string, raw: string, allowed: Record<string, T>): T[] {
  const names = raw.split(',').map((n) => n.trim().toLowerCase()).filter((n) => n !== '');
  const unknown = names.filter((n) => !(n in allowed));
  if (names.length === 0 || unknown.length > 0) {
    throw new ConfigError(`${flag} ${JSON.stringify(raw)}: expected a comma list of ${Object.keys(allowed).join(', ')}`);
  }
  return Object.entries(allowed).filter(([n]) => names.includes(n)).map(([, kind]) => kind);
}

/** The flag may be set to "" on purpose (exclude nothing), so an empty value is not "unset". */
function excludedSecretTypes(fromFlag: unknown, env: Record<string, string | undefined>): string {
  if (typeof fromFlag === 'string') return fromFlag;
  return env[ENV['exclude-secret-types']] ?? DEFAULTS.excludeSecretTypes;
}

function secretTypes(raw: string): string | undefined {
  const types = raw.split(',').map((t) => t.trim()).filter((t) => t !== '');
  for (const type of types) {
    // A field selector value cannot hold ',' or '=' or '!', and a Secret type has no spaces.
    if (!/^[A-Za-z0-9._/-]+$/.test(type)) throw new ConfigError(`--exclude-secret-types: ${JSON.stringify(type)} is not a Secret type`);
  }
  return types.length === 0 ? undefined : types.map((t) => `type!=${t}`).join(',');
}

function namespaceList(raw: string | undefined): string[] {
  const names = [...new Set((raw ?? '').split(',').map((n) => n.trim()).filter((n) => n !== ''))];
  for (const name of names) {
    // A namespace name is a DNS-1123 label.
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name)) throw new ConfigError(`--namespace: ${JSON.stringify(name)} is not a namespace name`);
  }
  return names.sort();
}

/**
 * A label selector is passed to the apiserver as it is; here only what cannot be one is refused
 * (the apiserver's own parser gives the precise error for the rest, on the first list).
 */
function labelSelector(flag: string, raw: string | undefined): string | undefined {
  const text = raw?.trim();
  if (text === undefined || text === '') return undefined;
  if (/[\s]{2,}|^,|,$|,,/.test(text) || !/^[A-Za-z0-9_./=!,()\- ]+$/.test(text)) {
    throw new ConfigError(`${flag} ${JSON.stringify(raw)}: not a label selector (e.g. app=web,tier!=cache or env in (prod,staging))`);
  }
  return text;
}

function objectName(flag: string, raw: string): string {
  if (!isObjectName(raw)) throw new ConfigError(`${flag} ${JSON.stringify(raw)}: not a valid Kubernetes object name`);
  return raw;
}

function oneOf<T extends string>(flag: string, raw: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(raw)) return raw as T;
  throw new ConfigError(`${flag} ${JSON.stringify(raw)}: expected one of ${allowed.join(', ')}`);
}

function parseHttpAddr(raw: string): { host: string; port: number } {
  if (raw === 'off') return { host: '', port: -1 };
  const m = /^(.*):(\d+)$/.exec(raw);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new ConfigError(`--http-addr ${JSON.stringify(raw)}: expected [HOST]:PORT or off`);
  return { host: m[1] || '0.0.0.0', port };
}

function hostnameOf(env: Record<string, string | undefined>): string {
  return env.HOSTNAME || 'config-reload-operator';
}
