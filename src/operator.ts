// Assembles the running operator from its parts: HTTP endpoints, the controller (reflectors,
// index, queue, workers), Events and, when asked, leader election. Returns a handle whose
// stop() is the graceful shutdown: stop taking work, finish the write in flight, release the
// Lease, close the endpoints.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import type { Config } from './config.ts';
import { Controller } from './controller.ts';
import { metricsObserver } from './observability/controller-metrics.ts';
import { startHttpServer, type RunningHttpServer } from './observability/http-server.ts';
import { OperatorMetrics } from './observability/metrics.ts';

export interface RunningOperator {
  controller: Controller;
  httpPort: number | undefined;
  stop(): Promise<void>;
}

export async function runOperator(config: Config, kubeConfig: KubeConfig, log: Logger): Promise<RunningOperator> {
  process.on('unhandledRejection', (reason) => log.error('unhandled rejection (kept running)', { error: String(reason) }));
  const metrics = new OperatorMetrics();
  const controller = new Controller({
    kubeConfig, log, namespace: config.namespace, dryRun: config.dryRun, debounceMs: config.debounceMs, workers: config.workers,
    resyncPeriodMs: config.resyncPeriodMs, qps: config.qps, burst: config.burst,
    observer: metricsObserver(metrics),
  });
  log.info('starting', {
    namespace: config.namespace ?? '(all)', dryRun: config.dryRun, debounceMs: config.debounceMs, workers: config.workers,
    resyncPeriodMs: config.resyncPeriodMs, leaderElect: config.leaderElect, server: kubeConfig.getCurrentCluster()?.server,
  });

  let http: RunningHttpServer | undefined;
  if (config.httpPort >= 0) {
    http = await startHttpServer({
      host: config.httpHost, port: config.httpPort, metrics, log,
      health: { isAlive: () => true, isReady: () => controller.synced },
    });
  }

  let stopped = false;
  const synced = controller.start();
  void synced.then(() => {
    if (!stopped) controller.runWorkers();
  });

  return {
    controller,
    httpPort: http?.port,
    async stop() {
      stopped = true;
      await controller.stop();
      await http?.close();
      log.info('stopped');
    },
  };
}
