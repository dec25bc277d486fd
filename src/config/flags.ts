// The operator's flags: the one table. Each flag's environment variable, default, help and
// parser are here and nowhere else; from it come the operator's parser (src/config.ts), its
// --help, the flags explain shares with it (src/explain/args.ts: same variables and validation)
// and the README's flag tables (`npm run docs:flags`; test/system/flag-docs.test.ts fails when
// they are stale).
// The table's order is the order of --help, of the README and of the checks.
import { KINDS_BY_FLAG } from '../core/kinds.ts';
import { DEFAULT_MAX_KEYS_PER_OBJECT } from '../core/digest.ts';
import type { TemplateOrder } from '../core/ordering.ts';
import type { Peer } from '../core/peer-annotations.ts';
import type { SourceKind } from '../core/types.ts';
import { parseNotifyTargets } from './notify-targets.ts';
import { type Env, type FlagTable, toggle, value } from './spec.ts';
import {
  duration, httpAddr, integer, kinds, labelSelector, namespaceList, objectName, oneOf, optionalText, secretTypes, text,
} from './values.ts';

const SOURCES: Readonly<Record<string, SourceKind>> = { configmaps: 'ConfigMap', secrets: 'Secret' };
const PEERS: Readonly<Record<string, Peer>> = { reloader: 'reloader', wave: 'wave' };
/** Peers, comma-separated; unset or empty: none. */
const peerList = (raw: string | undefined, flag: string): Peer[] => (raw === undefined || raw.trim() === '' ? [] : kinds(PEERS)(raw, flag));
/** `plural` for apps/v1, `plural.group` for a custom kind (src/core/kinds.ts, docs/workload-kinds.md). */
const WORKLOADS = KINDS_BY_FLAG;
const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
const LOG_FORMATS = ['json', 'text'] as const;
const TEMPLATE_ORDERS: readonly TemplateOrder[] = ['resource-version', 'off'];

/** The namespace manifests/ and the README's Helm install put the operator (and its digest key) in. */
export const INSTALL_NAMESPACE = 'config-reload-system';

export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = (typeof LOG_FORMATS)[number];

const code = (names: readonly string[]) => names.map((n) => `\`${n}\``).join(', ');

export const FLAGS = {
  kubeconfig: value({
    env: 'KUBECONFIG', arg: 'PATH', parse: optionalText,
    help: 'kubeconfig file (else `$KUBECONFIG`; then the operator uses its ServiceAccount in a pod before `~/.kube/config`, explain the other way round)',
  }),
  namespace: value({
    env: 'CONFIG_RELOAD_NAMESPACE', arg: 'NS[,NS…]', parse: namespaceList, defaultText: 'all namespaces',
    help: 'watch these namespaces only, one watch each', details: '(see *Scoping*)',
  }),
  // A Namespace label selector needs list/watch on Namespaces (cluster-scoped); a fixed list
  // needs nothing beyond its namespaces: the two exclude each other (src/config.ts).
  'namespace-selector': value({
    env: 'CONFIG_RELOAD_NAMESPACE_SELECTOR', arg: 'SELECTOR', parse: labelSelector,
    help: 'watch the namespaces with these labels, opening and closing their watches as labels change; not with `--namespace`',
    details: '(see [docs/namespace-selection.md](docs/namespace-selection.md))',
  }),
  'exclude-namespaces': value({
    env: 'CONFIG_RELOAD_EXCLUDE_NAMESPACES', arg: 'NS[,NS…]', parse: namespaceList,
    help: 'never watch these namespaces (applied by the apiserver, with or without the two above)',
  }),
  'configmap-selector': value({
    env: 'CONFIG_RELOAD_CONFIGMAP_SELECTOR', arg: 'SELECTOR', parse: labelSelector,
    help: 'watch only the ConfigMaps with these labels (applied by the apiserver)',
  }),
  'secret-selector': value({
    env: 'CONFIG_RELOAD_SECRET_SELECTOR', arg: 'SELECTOR', parse: labelSelector,
    help: 'the same for Secrets',
  }),
  'dry-run': toggle({
    env: 'CONFIG_RELOAD_DRY_RUN',
    help: 'log every would-be adoption and roll; write nothing', details: '(see *Dry-run*)',
  }),
  // One second covers a `helm upgrade` or `kubectl apply -f dir/`, which write their objects
  // within a few hundred milliseconds, while adding at most a second to a lone change.
  debounce: value({
    env: 'CONFIG_RELOAD_DEBOUNCE', arg: 'DURATION', default: '1s', parse: duration(),
    help: 'coalesce a burst of changes into one roll', details: '(see *Rules*)',
  }),
  workers: value({
    env: 'CONFIG_RELOAD_WORKERS', arg: 'N', default: '4', parse: integer(1, 1000),
    help: 'concurrent reconciles',
    details: '(never two on one workload); neither adoptions nor the consumers of one changed ConfigMap take more than N − 1 of them, so an unrelated roll always finds one free',
  }),
  'resync-period': value({
    env: 'CONFIG_RELOAD_RESYNC_PERIOD', arg: 'DURATION', default: '10m', parse: duration(),
    help: 're-check every opted-in workload (level-based); `0` disables',
  }),
  'watch-idle-timeout': value({
    env: 'CONFIG_RELOAD_WATCH_IDLE_TIMEOUT', arg: 'DURATION', default: '150s',
    // 0 would cut every watch at once; below a second, a busy apiserver's first event could miss it.
    parse: duration((ms) => ms >= 1000, 'must be at least 1s'),
    help: 're-open a watch that sent no event or bookmark for this long, at least `1s`',
    details: '(the default is above the apiserver\'s bookmark interval of about a minute: a healthy quiet watch is never cut)',
  }),
  qps: value({
    env: 'CONFIG_RELOAD_QPS', arg: 'N', default: '50', parse: integer(0, 100_000),
    help: 'write budget of rolls, in patches per second; evaluations that write nothing are free; `0` = unlimited',
    details: '(a guard against a ConfigMap rewritten in a loop)',
  }),
  burst: value({
    env: 'CONFIG_RELOAD_BURST', arg: 'N', default: '500', parse: integer(1, 1_000_000),
    help: 'the burst of the write budget of rolls',
  }),
  // 10,000 workloads adopt in about 8 minutes; real changes never wait for it (their own lane).
  'adoption-qps': value({
    env: 'CONFIG_RELOAD_ADOPTION_QPS', arg: 'N', default: '20', parse: integer(0, 100_000),
    help: 'write budget of adoptions and re-recordings, per second, served after every roll; `0` = unlimited',
  }),
  'template-order': value({
    env: 'CONFIG_RELOAD_TEMPLATE_ORDER', arg: 'MODE', default: 'resource-version', parse: oneOf(TEMPLATE_ORDERS),
    help: 'how a pod-template change and a configuration change are ordered: `resource-version` compares their resourceVersions (one etcd); `off` takes the order in which the watches delivered them (resources split across etcd servers)',
    details: '— a template change the operator did not see is taken to carry what the record says (see *What the pods run*)',
  }),
  // A shared trust bundle or logging config reaches dozens of workloads; a config object read
  // by a handful rolls at once as before.
  'wave-threshold': value({
    env: 'CONFIG_RELOAD_WAVE_THRESHOLD', arg: 'N', default: '5', parse: integer(0, 1_000_000),
    help: 'a change of a ConfigMap or Secret read by more than N opted-in workloads rolls in waves: canaries first, the rest once they are healthy; `0` = never',
    details: '(see *Waves*)',
  }),
  'canary-size': value({
    env: 'CONFIG_RELOAD_CANARY_SIZE', arg: 'N', default: '1', parse: integer(1, 1_000_000),
    help: 'canaries when no workload is annotated `config-reload.dev/canary`',
  }),
  waves: value({
    env: 'CONFIG_RELOAD_WAVES', arg: 'N', default: '1', parse: integer(1, 1000),
    help: 'waves after the canary wave',
  }),
  // The deployment controller's own progressDeadlineSeconds default.
  'wave-timeout': value({
    env: 'CONFIG_RELOAD_WAVE_TIMEOUT', arg: 'DURATION', default: '10m', parse: duration((ms) => ms > 0, 'must be more than 0'),
    help: 'a wave not healthy this long after its roll holds the rest',
  }),
  'config-sources': value({
    env: 'CONFIG_RELOAD_CONFIG_SOURCES', arg: 'LIST', default: 'configmaps,secrets', parse: kinds(SOURCES),
    help: `the kinds of config object watched: some of ${code(Object.keys(SOURCES))}, comma-separated`,
    details: '(`configmaps` for a cluster that grants no Secret access)',
  }),
  'workload-kinds': value({
    env: 'CONFIG_RELOAD_WORKLOAD_KINDS', arg: 'LIST', default: 'deployments,statefulsets,daemonsets', parse: kinds(WORKLOADS),
    help: `the kinds of workload watched and patched: some of ${code(Object.keys(WORKLOADS))}, comma-separated; a custom kind is watched while its CRD is installed`,
    details: '(see [docs/workload-kinds.md](docs/workload-kinds.md))',
  }),
  'accept-annotations': value({
    env: 'CONFIG_RELOAD_ACCEPT_ANNOTATIONS', arg: 'LIST', parse: peerList, defaultText: 'none',
    help: `also honour the opt-in annotations of ${code(Object.keys(PEERS))}, comma-separated, mapped to this operator's; its own win`,
    details: '(see [docs/migrating.md](docs/migrating.md))',
  }),
  'exclude-secret-types': value({
    env: 'CONFIG_RELOAD_EXCLUDE_SECRET_TYPES', arg: 'LIST', default: 'helm.sh/release.v1', parse: secretTypes, keepEmpty: true,
    help: 'Secret types never listed or watched (a field selector on the watch); `""` for none',
  }),
  // A tenant's 80,000-key ConfigMap cost 12 MiB and a second per update (docs/security.md).
  'max-keys-per-object': value({
    env: 'CONFIG_RELOAD_MAX_KEYS_PER_OBJECT', arg: 'N', default: String(DEFAULT_MAX_KEYS_PER_OBJECT), parse: integer(1, 1_000_000),
    help: 'a ConfigMap or Secret with more keys is digested whole, not key by key, and the workloads that read it are held until it holds fewer',
    details: '(see [docs/security.md](docs/security.md#tenant-limits))',
  }),
  'digest-key-secret': value({
    env: 'CONFIG_RELOAD_DIGEST_KEY_SECRET', arg: 'NAME', default: 'config-reload-digest-key', parse: objectName,
    help: 'the Secret holding the digest key', details: '(see *The digest key*)',
  }),
  // In a cluster, the operator's own namespace (manifests/ and the chart set POD_NAMESPACE);
  // outside one, where they install it. explain takes the same default (src/explain/args.ts), so
  // that an operator and an explain run with the same environment look in the same place.
  'digest-key-namespace': value({
    env: 'CONFIG_RELOAD_DIGEST_KEY_NAMESPACE', arg: 'NS', parse: objectName,
    default: (env: Env) => env.POD_NAMESPACE || INSTALL_NAMESPACE, defaultText: `\`$POD_NAMESPACE\`, else \`${INSTALL_NAMESPACE}\``,
    help: 'its namespace',
  }),
  'digest-key-file': value({
    env: 'CONFIG_RELOAD_DIGEST_KEY_FILE', arg: 'PATH', parse: optionalText,
    help: 'read the key from this file (a mounted Secret) instead: no Secret access',
  }),
  // A webhook URL is a credential (its path is the secret): its parser never quotes it in an error,
  // and a file (a mounted Secret) keeps it off the command line and out of the pod spec.
  'notify-url': value({
    env: 'CONFIG_RELOAD_NOTIFY_URL', arg: '[FORMAT+]URL', repeatable: true, parse: (raw: string | undefined, flag: string) => parseNotifyTargets(raw, flag),
    defaultText: 'none',
    help: 'post a message per rolled change, held wave and refused write to this webhook; repeatable (the variable: comma- or newline-separated); FORMAT `slack`, `teams`, `gchat`, none: generic JSON',
    details: '(see [docs/notifications.md](docs/notifications.md))',
  }),
  'notify-url-file': value({
    env: 'CONFIG_RELOAD_NOTIFY_URL_FILE', arg: 'PATH', parse: optionalText,
    help: 'more such webhooks, one per line, read from this file (a mounted Secret) at start',
  }),
  'log-level': value({
    env: 'CONFIG_RELOAD_LOG_LEVEL', arg: 'LEVEL', default: 'info', parse: oneOf(LOG_LEVELS),
    help: `one of ${code(LOG_LEVELS)}`,
  }),
  'log-format': value({
    env: 'CONFIG_RELOAD_LOG_FORMAT', arg: 'FORMAT', default: 'json', parse: oneOf(LOG_FORMATS),
    help: `one of ${code(LOG_FORMATS)}`,
  }),
  'http-addr': value({
    env: 'CONFIG_RELOAD_HTTP_ADDR', arg: '[HOST]:PORT', default: ':8080', parse: httpAddr,
    help: 'serves `/healthz`, `/readyz`, `/metrics`; no HOST: every interface, IPv4 and IPv6 (an IPv6 HOST in brackets, `[::1]:8080`); `off` disables',
    details: '(see *Health and metrics*)',
  }),
  'leader-elect': toggle({
    env: 'CONFIG_RELOAD_LEADER_ELECT',
    help: 'run active/standby on a Lease', details: '(see *High availability*)',
  }),
  'leader-election-namespace': value({
    env: 'CONFIG_RELOAD_LEADER_ELECTION_NAMESPACE', arg: 'NS', parse: text,
    default: (env: Env) => env.POD_NAMESPACE ?? '', defaultText: '`$POD_NAMESPACE`',
    help: 'the Lease\'s namespace, needed by `--leader-elect`',
  }),
  'leader-election-id': value({
    env: 'CONFIG_RELOAD_LEADER_ELECTION_ID', arg: 'NAME', default: 'config-reload-operator', parse: text,
    help: 'the Lease\'s name',
  }),
  'lease-duration': value({
    env: 'CONFIG_RELOAD_LEASE_DURATION', arg: 'DURATION', default: '15s',
    // A Lease records its duration in whole seconds.
    parse: duration((ms) => ms >= 3000 && ms % 1000 === 0, 'must be whole seconds, at least 3s'),
    help: 'how long a dead leader holds the Lease, in whole seconds, at least `3s`',
  }),
} satisfies FlagTable;

export type FlagName = keyof typeof FLAGS;
