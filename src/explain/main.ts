// `config-reload-operator explain KIND/NAME` (and `kubectl config-reload explain`): the I/O.
// One read of the cluster with the caller's kubeconfig — the workload by kind and name, each
// ConfigMap and Secret it consumes by name, the operator's digest key Secret — then the pure
// explanation (explanation.ts) and its rendering (render.ts). Writes nothing to the cluster.
import type { KubeConfig } from '@kubernetes/client-node';
import { ConfigError } from '../core/errors.ts';
import type { SourceKind } from '../core/types.ts';
import { describeError, httpStatus } from '../kube/api-error.ts';
import { kindSpec } from '../core/kinds.ts';
import { CONFIGMAPS, NAMESPACES, type ResourceType, SECRETS, workloadType } from '../kube/cluster-api.ts';
import { digestKeyFromSecret } from '../kube/digest-key.ts';
import { HttpClusterApi } from '../kube/http-cluster-api.ts';
import { loadKubeConfig } from '../kube/kubeconfig.ts';
import { kubeconfigConnection } from '../kube/kubeconfig-connection.ts';
import type { WorkloadLike } from '../state/workload-store.ts';
import { EXPLAIN_USAGE, type ExplainArgs, parseExplainArgs } from './args.ts';
import {
  buildExplanation, type KeyRead, missingGetPermission, needsDigestKey, type ReadResult, sourceId, type SourceObject, sourcesToRead,
} from './explanation.ts';
import { type NamespaceRead, namespaceWatch, needsNamespace } from './namespace-scope.ts';
import { renderJson, renderText } from './render.ts';

const PROGRAM = 'config-reload-operator explain';

const SOURCE_RESOURCE: Record<SourceKind, ResourceType> = { ConfigMap: CONFIGMAPS, Secret: SECRETS };

export interface ExplainIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

const processIo: ExplainIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Runs the command; resolves with the exit code: 0 explained, 1 workload not read, 2 bad usage. */
export async function explainMain(argv: string[], env: Record<string, string | undefined>, io: ExplainIo = processIo): Promise<number> {
  let args: ExplainArgs;
  let kc: KubeConfig;
  try {
    const parsed = parseExplainArgs(argv, env);
    if (parsed.help) {
      io.stdout(`${EXPLAIN_USAGE}\n`);
      return 0;
    }
    args = parsed.args;
    kc = loadKubeConfig(args.kubeconfig, env, args.context);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(`${PROGRAM}: error: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const namespace = args.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  const api = new HttpClusterApi(kubeconfigConnection(kc));
  const resource = workloadType(args.kind);

  let workload: WorkloadLike;
  try {
    workload = await api.get<WorkloadLike>(resource, namespace, args.name);
  } catch (err) {
    const status = httpStatus(err);
    const what = `${args.kind} ${namespace}/${args.name}`;
    if (status === 404) io.stderr(`${PROGRAM}: error: ${what} not found\n`);
    else if (status === 403) io.stderr(`${PROGRAM}: error: cannot read ${what}: you need ${missingGetPermission(`${resource.plural}.${kindSpec(args.kind).group}`, namespace, args.name)} (${describeError(err)})\n`);
    else io.stderr(`${PROGRAM}: error: cannot read ${what}: ${describeError(err)}\n`);
    return 1;
  }

  const consumed = sourcesToRead(args.kind, workload, args.sourceKinds, args.acceptAnnotations);
  const keySecret = { namespace: args.digestKeyNamespace, name: args.digestKeySecret };
  const [reads, key, namespaceRead] = await Promise.all([
    Promise.all(consumed.map(async (c) => [sourceId(c.kind, c.name), await read<SourceObject>(api, SOURCE_RESOURCE[c.kind], namespace, c.name)] as const)),
    needsDigestKey(args.kind, workload, args.sourceKinds, args.acceptAnnotations) ? readKey(api, keySecret) : Promise.resolve<KeyRead>({ state: 'skipped' }),
    needsNamespace(args.namespaceScope, namespace) ? readNamespace(api, namespace) : Promise.resolve(undefined),
  ]);
  const explanation = buildExplanation({
    kind: args.kind, workload, sources: new Map(reads), key, keySecret, sourceKinds: args.sourceKinds, watchFilters: args.watchFilters, acceptAnnotations: args.acceptAnnotations,
    maxKeysPerObject: args.maxKeysPerObject,
    namespaceWatch: namespaceWatch(args.namespaceScope, namespace, namespaceRead),
  });
  io.stdout(args.output === 'json' ? renderJson(explanation) : renderText(explanation));
  return 0;
}

async function read<T>(api: HttpClusterApi, type: ResourceType, namespace: string, name: string): Promise<ReadResult<T>> {
  try {
    return { state: 'found', object: await api.get<T & object>(type, namespace, name) };
  } catch (err) {
    const status = httpStatus(err);
    if (status === 404) return { state: 'absent' };
    return { state: 'unreadable', status, error: describeError(err) };
  }
}

/** The workload's Namespace, for its labels (--namespace-selector). */
async function readNamespace(api: HttpClusterApi, namespace: string): Promise<NamespaceRead> {
  try {
    const ns = await api.get<{ metadata?: { labels?: Record<string, string> } }>(NAMESPACES, '', namespace);
    return { state: 'found', labels: ns.metadata?.labels };
  } catch (err) {
    const status = httpStatus(err);
    if (status === 404) return { state: 'absent' };
    return { state: 'unreadable', error: describeError(err), missingPermission: status === 403 ? `get on namespaces/${namespace}` : undefined };
  }
}

/** The operator's key, read as it reads it; the material stays inside the DigestKey. */
async function readKey(api: HttpClusterApi, where: { namespace: string; name: string }): Promise<KeyRead> {
  const secret = await read<{ data?: Record<string, string> }>(api, SECRETS, where.namespace, where.name);
  if (secret.state === 'unreadable') return secret;
  if (secret.state === 'absent') {
    return {
      state: 'unreadable', status: 404,
      error: `Secret ${where.namespace}/${where.name} not found: the operator creates it when it first starts; ` +
        'pass the operator\'s --digest-key-namespace and --digest-key-secret',
    };
  }
  try {
    return { state: 'loaded', key: digestKeyFromSecret(secret.object, where) };
  } catch (err) {
    return { state: 'unreadable', status: undefined, error: (err as Error).message };
  }
}
