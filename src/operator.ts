// Assembles the running operator from its parts: HTTP endpoints, the controller (reflectors,
// index, queue, workers), Events and, when asked, leader election. Returns a handle whose
// stop() is the graceful shutdown: stop taking work, finish the write in flight, release the
// Lease, close the endpoints.
import type { Logger } from 'winston';
import type { Config } from './config.ts';
import type { EventSink } from './reconcile/reconciler.ts';
import { Controller } from './controller.ts';
import { systemClock } from './time/clock.ts';
import { REVISION, VERSION } from './core/version.ts';
import type { Connection } from './kube/connection.ts';
import { clusterSecretApi, digestKeyFromFile, type HeldDigestKey, loadDigestKey } from './kube/digest-key.ts';
import { HttpClusterApi } from './kube/http-cluster-api.ts';
import { guardKey, keyCreationGate } from './leader/key-custody.ts';
import { clusterLeaseApi } from './leader/lease-api.ts';
import { LeaseElector } from './leader/lease-elector.ts';
import { EventRecorder } from './observability/events.ts';
import { metricsObserver } from './observability/controller-metrics.ts';
import { startHttpServer, type RunningHttpServer } from './observability/http-server.ts';
import { OperatorMetrics } from './observability/metrics.ts';
import { Notifier } from './notify/notifier.ts';
import { notifyTargetsFromFile } from './notify/targets-file.ts';

/** How long a stopping operator gives the webhooks to take what is queued (docs/notifications.md). */
const NOTIFY_GRACE_MS = 1_500;

export interface RunningOperator {
  httpPort: number | undefined;
  stop(): Promise<void>;
}

export async function runOperator(config: Config, connection: Connection, log: Logger): Promise<RunningOperator> {
  // A rejection nobody handled is a bug whose consequences are unknown: say so, and stop
  // reporting alive, so that the kubelet restarts the replica (a Go controller would panic).
  let unhandled: string | undefined;
  process.on('unhandledRejection', (reason) => {
    unhandled = reason instanceof Error ? reason.stack ?? reason.message : String(reason);
    log.error('unhandled rejection: reporting not alive', { error: unhandled });
  });
  const metrics = new OperatorMetrics();
  const clock = systemClock;
  // A key file that cannot be read is bad start-up configuration: it throws ConfigError (exit 2).
  const fileKey = config.digestKeyFile === undefined ? undefined : digestKeyFromFile(config.digestKeyFile);
  // Likewise an unreadable webhook file. Only the replica that leads notifies: it is the one that rolls.
  const notifyTargets = [...config.notifyTargets, ...notifyTargetsFromFile(config.notifyUrlFile)];
  let leading = !config.leaderElect;
  const notifier = notifyTargets.length === 0 ? undefined : new Notifier({
    targets: notifyTargets, clock, log, version: VERSION, leading: () => leading,
    onOutcome: (format, outcome) => metrics.notifications.inc({ format, outcome }),
  });
  if (notifier) log.info('notifications on', { targets: notifyTargets.map((t) => t.label) });
  log.info('starting', {
    version: VERSION, revision: REVISION,
    namespaces: config.namespaces.length > 0 ? config.namespaces : '(all)', dryRun: config.dryRun, debounceMs: config.debounceMs, workers: config.workers,
    resyncPeriodMs: config.resyncPeriodMs, waveThreshold: config.waveThreshold, leaderElect: config.leaderElect, server: withoutUserinfo(connection.server), credentials: connection.source,
    configSources: config.sourceKinds, workloadKinds: config.workloadKinds, secretFieldSelector: config.secretFieldSelector ?? null,
  });

  // Probes answer from the start: alive while the digest key loads, ready once synced.
  let controller: Controller | undefined;
  let http: RunningHttpServer | undefined;
  if (config.httpPort >= 0) {
    http = await startHttpServer({
      host: config.httpHost, port: config.httpPort, metrics, log,
      health: {
        isAlive: () => {
          const health = controller?.health() ?? { alive: true, problems: [] };
          if (!health.alive) log.error('liveness failing', { problems: health.problems });
          return health.alive && unhandled === undefined;
        },
        isReady: () => controller?.synced ?? false,
      },
    });
  }

  // The composition root: the one place that builds clients and hands them down.
  const cluster = new HttpClusterApi(connection);
  const stopping = new AbortController();
  let stopped = false;
  let elector: LeaseElector | undefined;
  /** The key from the Secret (not from a file): the leader checks and restores it (src/leader/key-custody.ts). */
  let heldKey: HeldDigestKey | undefined;
  const started = (async () => {
    // With leader election, a replica creates the key only while no other may be leading.
    const gate = config.leaderElect
      ? { mayCreate: keyCreationGate(clusterLeaseApi(cluster, config.leaderElectionNamespace, config.leaderElectionId), config.identity, clock) }
      : {};
    heldKey = fileKey === undefined ? await loadDigestKey(
      clusterSecretApi(cluster), { namespace: config.digestKeyNamespace, name: config.digestKeySecret }, log, clock, stopping.signal, gate,
    ) : undefined;
    const digestKey = fileKey ?? heldKey;
    if (digestKey === undefined) return;
    controller = new Controller({
      api: cluster, discovery: cluster, clock, log, digestKey, namespaces: config.namespaces, dryRun: config.dryRun,
      configMapSelector: config.configMapSelector, secretSelector: config.secretSelector,
      namespaceSelector: config.namespaceSelector, excludeNamespaces: config.excludeNamespaces,
      debounceMs: config.debounceMs, workers: config.workers, resyncPeriodMs: config.resyncPeriodMs, watchdogMs: config.watchIdleTimeoutMs, qps: config.qps,
      burst: config.burst, adoptionQps: config.adoptionQps, templateOrder: config.templateOrder, sourceKinds: config.sourceKinds,
      waveThreshold: config.waveThreshold, canarySize: config.canarySize, waves: config.waves, waveTimeoutMs: config.waveTimeoutMs,
      workloadKinds: config.workloadKinds, secretFieldSelector: config.secretFieldSelector, acceptAnnotations: config.acceptAnnotations, maxKeysPerObject: config.maxKeysPerObject,
      observer: metricsObserver(metrics),
      events: tapped(new EventRecorder(cluster, { log, host: config.identity })),
    });
    elector = lead(controller);
  })();

  /** The Event recorder, also telling the notifier (when there is one) of each Event's facts. */
  function tapped(events: EventRecorder): EventSink {
    return notifier ? notifier.tap(events) : events;
  }

  /** Starts the controller; standby replicas keep their reflectors warm (and report ready), only the leader runs workers. */
  function lead(controller: Controller): LeaseElector | undefined {
    const synced = controller.start();
    const startWorkers = (leadership?: AbortSignal) => {
      void synced.then(async () => {
        if (stopped || leadership?.aborted) return;
        const key = heldKey;
        if (key && !(await guardKey({ key, clock, log, onReplaced: () => exitAfterStop() }, leadership ?? stopping.signal))) return;
        if (!stopped && !leadership?.aborted) controller.runWorkers(leadership);
      });
    };
    // The key Secret holds another key than this replica's: no write with ours; release the
    // Lease and exit, and the kubelet restarts the replica, which loads the Secret's.
    const exitAfterStop = () => {
      stopped = true;
      void controller.stop().then(() => elector?.stop()).finally(() => process.exit(1));
    };

    let elector: LeaseElector | undefined;
    if (config.leaderElect) {
      const lease = config.leaseDurationMs;
      elector = new LeaseElector({
        api: clusterLeaseApi(cluster, config.leaderElectionNamespace, config.leaderElectionId),
        namespace: config.leaderElectionNamespace, name: config.leaderElectionId, identity: config.identity,
        // client-go's proportions: 15 s lease, 10 s renew deadline, 2 s retry period.
        leaseDurationMs: lease, renewDeadlineMs: Math.round((lease * 2) / 3), retryPeriodMs: Math.round((lease * 2) / 15), log,
      });
      elector.run({
        // The signal is aborted the moment the renew deadline passes, before a standby can take
        // the Lease: no write starts after that, and a patch in flight is cancelled.
        onStartedLeading: (leadership) => {
          metrics.isLeader.set(1);
          leading = true;
          log.info('became leader: starting workers once synced', { identity: config.identity });
          startWorkers(leadership);
        },
        onStoppedLeading: () => {
          metrics.isLeader.set(0);
          leading = false;
          // As controller-runtime does: a replica that lost the Lease may hold a stale view;
          // exiting hands the work to the new leader cleanly, and the kubelet restarts us as a standby.
          log.error('lost the leader Lease: exiting', { identity: config.identity });
          stopped = true;
          void controller.stop().finally(() => process.exit(1));
        },
      });
    } else {
      metrics.isLeader.set(1);
      startWorkers();
    }
    return elector;
  }

  return {
    httpPort: http?.port,
    async stop() {
      stopped = true;
      stopping.abort();
      await started;
      // Order matters: finish the write in flight before releasing the Lease, or the next
      // leader could act on the same workload at the same time.
      await controller?.stop();
      await elector?.stop();
      // What gathered is sent now; the webhooks get a second or two, never more.
      await notifier?.stop(NOTIFY_GRACE_MS);
      await http?.close();
      log.info('stopped');
    },
  };
}

/** The server as logged: a URL's user and password, should a kubeconfig carry them, are left out. */
function withoutUserinfo(server: string): string {
  try {
    const url = new URL(server);
    if (url.username === '' && url.password === '') return server;
    url.username = '';
    url.password = '';
    return url.toString();
  } catch {
    return server;
  }
}
