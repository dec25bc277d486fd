// The limit the operator is compared with: the least a reloader can do. It watches ConfigMaps
// (cluster-wide, from "now") and, the moment ConfigMap bcfg-<x> is modified, merge-patches the
// pod-template annotation of Deployment bapp-<x> in the same namespace (a naming convention
// stands in for the index; these pairs are not opted in to the operator, so both can run side
// by side and be sampled alternately under the same load). No cache, no index, no digest, no queue, no debounce, no rate
// limit: only the two API round trips any reloader needs. Same client library and runtime as
// the operator, so the difference is the operator's own work.
//
//   node bench/baseline-watcher.ts --kubeconfig FILE      (Node's own type stripping; no tsx)
//
// Logs JSON lines on stderr: {"message":"watching"} once the watch is established.
import { AppsV1Api, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, Watch, type V1ConfigMap } from '@kubernetes/client-node';
import { parseArgs } from 'node:util';
import { BASELINE_CONFIGMAP_PREFIX, BASELINE_DEPLOYMENT_PREFIX, BASELINE_KEY } from './lib/constants.ts';

const { values } = parseArgs({ options: { kubeconfig: { type: 'string' } } });
const kc = new KubeConfig();
if (values.kubeconfig) kc.loadFromFile(values.kubeconfig);
else kc.loadFromDefault();
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const watch = new Watch(kc);
// client-node cuts a watch silent for 30 s; the operator raises that to 150 s, and so do we, so
// that neither reconnects in the middle of a quiet measurement.
Object.assign(watch, { requestTimeoutMs: 150_000 });
const log = (message: string, fields: Record<string, unknown> = {}) => process.stderr.write(`${JSON.stringify({ message, ...fields })}\n`);

let resourceVersion = (await core.listConfigMapForAllNamespaces({ limit: 1 })).metadata?.resourceVersion ?? '';
let stopping = false;

function onEvent(type: string, cm: V1ConfigMap): void {
  if (cm.metadata?.resourceVersion) resourceVersion = cm.metadata.resourceVersion;
  const name = cm.metadata?.name ?? '';
  if (type !== 'MODIFIED' || !name.startsWith(BASELINE_CONFIGMAP_PREFIX)) return;
  const consumer = BASELINE_DEPLOYMENT_PREFIX + name.slice(BASELINE_CONFIGMAP_PREFIX.length);
  const body = { spec: { template: { metadata: { annotations: { [BASELINE_KEY]: cm.metadata?.resourceVersion ?? '' } } } } };
  apps.patchNamespacedDeployment({ namespace: cm.metadata?.namespace ?? '', name: consumer, body }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
    .catch((err: unknown) => log('patch failed', { consumer, error: String(err) }));
}

async function run(): Promise<void> {
  while (!stopping) {
    await new Promise<void>((resolve) => {
      watch.watch('/api/v1/configmaps', { resourceVersion, allowWatchBookmarks: true }, onEvent, (err) => {
        if (err && !stopping) log('watch ended', { error: String(err) });
        resolve();
      }).then(() => log('watching'), (err: unknown) => {
        log('watch failed', { error: String(err) });
        resolve();
      });
    });
    if (!stopping) await new Promise((r) => setTimeout(r, 200));
  }
}

process.on('SIGTERM', () => {
  stopping = true;
  process.exit(0);
});
await run();
