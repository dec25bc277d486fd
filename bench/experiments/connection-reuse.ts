// Does @kubernetes/client-node reuse connections? Counts the TLS connections undici opens for
// sequential API calls, as the operator makes them (one KubeConfig, one API client), and with
// a KubeConfig whose dispatcher is created once and shared — the suggested fix. Also times the
// calls. Runs on its own control plane.
//
//   npx tsx bench/experiments/connection-reuse.ts [--calls 200]
import { AppsV1Api, KubeConfig, PatchStrategy, type RequestContext, setHeaderOptions } from '@kubernetes/client-node';
import diagnostics from 'node:diagnostics_channel';
import { parseArgs } from 'node:util';
import { ControlPlane } from '../../testbed/controlplane.ts';

const { values } = parseArgs({ options: { calls: { type: 'string' } } });
const calls = Number(values.calls ?? 200);

let connections = 0;
diagnostics.subscribe('undici:client:connected', () => connections++);

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

/**
 * The fix: one dispatcher (undici connection pool) for every request of this KubeConfig.
 * client-node 2.0.1 builds a new undici Agent inside applySecurityAuthentication on every call.
 */
class SharedDispatcherKubeConfig extends KubeConfig {
  #dispatcher: Dispatcher | undefined;
  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const created = context.getDispatcher();
    if (!created) return;
    if (this.#dispatcher === undefined) this.#dispatcher = created;
    else {
      context.setDispatcher(this.#dispatcher);
      void created.close();
    }
  }
}

const cp = await ControlPlane.start({ nodes: 1, log: () => undefined });
try {
  const setup = new KubeConfig();
  setup.loadFromFile(cp.kubeconfigPath);
  const apps = setup.makeApiClient(AppsV1Api);
  await apps.createNamespacedDeployment({
    namespace: 'default',
    body: {
      metadata: { name: 'probe' },
      spec: { replicas: 0, selector: { matchLabels: { app: 'probe' } }, template: { metadata: { labels: { app: 'probe' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
    },
  });
  const results: Record<string, { connections: number; msPerCall: number }> = {};
  for (const [label, kc] of [['client-node as is', new KubeConfig()], ['shared dispatcher', new SharedDispatcherKubeConfig()]] as const) {
    kc.loadFromFile(cp.kubeconfigPath);
    const api = kc.makeApiClient(AppsV1Api);
    // warm-up (module JIT, first connection)
    for (let i = 0; i < 10; i++) await api.readNamespacedDeployment({ namespace: 'default', name: 'probe' });
    connections = 0;
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) {
      await api.patchNamespacedDeployment(
        { namespace: 'default', name: 'probe', body: { metadata: { annotations: { n: String(i) } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    }
    results[label] = { connections, msPerCall: Math.round(((performance.now() - t0) / calls) * 100) / 100 };
  }
  process.stdout.write(`${JSON.stringify({ calls, results }, null, 1)}\n`);
} finally {
  await cp.stop();
}
process.exit(0);
