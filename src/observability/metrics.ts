// The operator's Prometheus metrics. They live in a registry of their own rather than
// prom-client's global one, so that two instances (tests, or two operators in one process)
// never collide on "metric already registered" and each exposes only what it owns.
import { REVISION, VERSION } from '../core/version.ts';
import { registerProcessMetrics } from './process-metrics.ts';
import { Counter, Gauge, Histogram, Registry } from './prom-client-core.ts';

const PREFIX = 'config_reload_';

// Reconciles are a few API calls at most: most finish in milliseconds, a slow apiserver pushes
// them to seconds. The buckets resolve both ends.
const RECONCILE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

// Queue wait includes the debounce window and backoff, so it reaches further than a reconcile.
const QUEUE_WAIT_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export class OperatorMetrics {
  readonly registry: Registry;
  /** Rolls written (dry_run="false") or that would have been written (dry_run="true"). */
  readonly rolls: Counter<'namespace' | 'dry_run'>;
  /** Workloads seen for the first time and given their recorded digest without a roll. */
  readonly adoptions: Counter<'namespace' | 'dry_run'>;
  /** Every decision taken, by action and a short fixed reason code (bounded cardinality). */
  readonly decisions: Counter<'action' | 'reason'>;
  readonly reconcileDuration: Histogram<'result'>;
  readonly reconcileErrors: Counter<never>;
  /** Keys ready to be taken by a worker. */
  readonly queueDepth: Gauge<never>;
  /** Keys parked on a debounce or backoff timer, not yet ready. */
  readonly queueWaiting: Gauge<never>;
  /** Time from a key's add to a worker taking it. */
  readonly queueWait: Histogram<never>;
  readonly watchRestarts: Counter<'resource' | 'reason'>;
  /** Full lists: reason is initial, gone (410 on watch) or error. */
  readonly relists: Counter<'resource' | 'reason'>;
  /** Unix time (seconds) a watcher last had a complete, current view. */
  readonly lastSync: Gauge<'resource'>;
  readonly watchedObjects: Gauge<'resource'>;
  /** 1 while a watched kind of config object can be watched; 0 while its watch is refused (RBAC). */
  readonly watchAvailable: Gauge<'resource'>;
  /** 1 while a kind of --workload-kinds is installed and watched; 0 while its CRD is not (docs/workload-kinds.md). */
  readonly workloadKindAvailable: Gauge<'kind'>;
  /** Config objects over the key budget (--max-keys-per-object): digested whole, their consumers held. */
  readonly sourcesOverBudget: Gauge<'resource'>;
  /** Failed API calls by verb and HTTP status code (0 when there was no response). */
  readonly apiErrors: Counter<'verb' | 'code'>;
  readonly isLeader: Gauge<never>;
  /**
   * Per shared ConfigMap whose change is held by a failed wave: the workloads not rolled. For
   * Secrets, per namespace with name="" (no Secret name in any label): the sum over its Secrets.
   */
  readonly waveHeld: Gauge<'namespace' | 'kind' | 'name'>;
  /** Notifications (src/notify/) by webhook format and what became of them: sent, failed (after retries), dropped (queue full, shutdown). */
  readonly notifications: Counter<'format' | 'outcome'>;
  /** 1, labelled with what runs: package.json's version and the git revision built (src/core/version.ts). */
  readonly buildInfo: Gauge<'version' | 'revision'>;

  constructor() {
    const registry = new Registry();
    this.registry = registry;
    // process_* and nodejs_* (CPU, memory, file descriptors, event-loop lag): the standard
    // names, unprefixed, so that stock Node.js dashboards work.
    registerProcessMetrics(registry);

    const registers = [registry];
    this.rolls = new Counter({
      name: `${PREFIX}rolls_total`,
      help: 'Rolling updates triggered by a configuration change; dry_run="true" counts rolls that would have been made.',
      labelNames: ['namespace', 'dry_run'] as const,
      registers,
    });
    this.adoptions = new Counter({
      name: `${PREFIX}adoptions_total`,
      help: 'Workloads adopted: digest recorded on first sight, without a roll.',
      labelNames: ['namespace', 'dry_run'] as const,
      registers,
    });
    this.decisions = new Counter({
      name: `${PREFIX}decisions_total`,
      help: 'Reconcile decisions by action and reason code.',
      labelNames: ['action', 'reason'] as const,
      registers,
    });
    this.reconcileDuration = new Histogram({
      name: `${PREFIX}reconcile_duration_seconds`,
      help: 'Time spent reconciling one workload key.',
      labelNames: ['result'] as const,
      buckets: RECONCILE_BUCKETS,
      registers,
    });
    this.reconcileErrors = new Counter({
      name: `${PREFIX}reconcile_errors_total`,
      help: 'Reconciles that failed and were re-queued with backoff.',
      registers,
    });
    this.queueDepth = new Gauge({
      name: `${PREFIX}queue_depth`,
      help: 'Keys in the work queue ready to be processed.',
      registers,
    });
    this.queueWaiting = new Gauge({
      name: `${PREFIX}queue_waiting`,
      help: 'Keys waiting on a debounce or backoff timer before they become ready.',
      registers,
    });
    this.queueWait = new Histogram({
      name: `${PREFIX}queue_wait_seconds`,
      help: 'Time from a key being added to the queue to a worker taking it.',
      buckets: QUEUE_WAIT_BUCKETS,
      registers,
    });
    this.watchRestarts = new Counter({
      name: `${PREFIX}watch_restarts_total`,
      help: 'Watch connections re-established, by resource and reason.',
      labelNames: ['resource', 'reason'] as const,
      registers,
    });
    this.relists = new Counter({
      name: `${PREFIX}relists_total`,
      help: 'Full lists performed, by resource and reason (initial, gone, error).',
      labelNames: ['resource', 'reason'] as const,
      registers,
    });
    this.lastSync = new Gauge({
      name: `${PREFIX}last_sync_timestamp_seconds`,
      help: 'Unix time at which the watcher of a resource was last in sync with the apiserver.',
      labelNames: ['resource'] as const,
      registers,
    });
    this.sourcesOverBudget = new Gauge({
      name: `${PREFIX}sources_over_budget`,
      help: 'Config objects holding more keys than --max-keys-per-object, by resource: digested whole, and the workloads that read them are held.',
      labelNames: ['resource'] as const,
      registers,
    });
    this.watchAvailable = new Gauge({
      name: `${PREFIX}watch_available`,
      help: 'Whether a watched kind of config object can be watched (0: the watch is refused, e.g. RBAC; its consumers are held).',
      labelNames: ['resource'] as const,
      registers,
    });
    this.workloadKindAvailable = new Gauge({
      name: `${PREFIX}workload_kind_available`,
      help: 'Whether a kind of --workload-kinds is watched (0: its CRD is not installed; discovery checks again every minute).',
      labelNames: ['kind'] as const,
      registers,
    });
    this.watchedObjects = new Gauge({
      name: `${PREFIX}watched_objects`,
      help: 'Objects currently tracked, by resource.',
      labelNames: ['resource'] as const,
      registers,
    });
    this.apiErrors = new Counter({
      name: `${PREFIX}api_errors_total`,
      help: 'Kubernetes API calls that failed, by verb and HTTP status code (0: no response).',
      labelNames: ['verb', 'code'] as const,
      registers,
    });
    this.isLeader = new Gauge({
      name: `${PREFIX}leader`,
      help: '1 while this replica holds the leader Lease, else 0.',
      registers,
    });
    this.isLeader.set(0);
    this.waveHeld = new Gauge({
      name: `${PREFIX}wave_held`,
      help: 'Workloads not rolled because an earlier wave of a change of this ConfigMap or Secret failed (one series per held ConfigMap; per namespace for Secrets, whose names no label carries: name is empty).',
      labelNames: ['namespace', 'kind', 'name'] as const,
      registers,
    });
    this.notifications = new Counter({
      name: `${PREFIX}notifications_total`,
      help: 'Notifications to webhooks, by format (json, slack, teams, gchat) and outcome: sent, failed (refused, or retries exhausted), dropped (queue full or shutdown).',
      labelNames: ['format', 'outcome'] as const,
      registers,
    });
    this.buildInfo = new Gauge({
      name: `${PREFIX}build_info`,
      help: 'Always 1; its labels say which build runs: version (package.json) and revision (git commit, or unknown).',
      labelNames: ['version', 'revision'] as const,
      registers,
    });
    this.buildInfo.set({ version: VERSION, revision: REVISION }, 1);
  }
}
