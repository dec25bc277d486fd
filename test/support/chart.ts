// The chart and manifests/ as objects: `helm template` and `kubectl kustomize` run with the
// testbed's helm and kubectl, their output parsed by testbed/chart-check. Shared by the system tests (drift, values) and
// the e2e tests (install, monitoring).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureChartTools, type ChartTools } from '../../testbed/assets.ts';
import { scratchDir } from '../scratch-dir.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CHART = path.join(ROOT, 'charts', 'config-reload-operator');
export const MANIFESTS = path.join(ROOT, 'manifests');
export const DASHBOARD = path.join(CHART, 'dashboards', 'config-reload-operator.json');
/**
 * The image manifests/ name: a placeholder, as no image is published. The chart has no default
 * image and refuses to render without one (test/system/release.test.ts); renderChart gives
 * it this one unless the values name another, and the e2e tests install with it (kwok pulls
 * nothing).
 */
export const PLACEHOLDER_IMAGE_REPOSITORY = 'ghcr.io/config-reload/config-reload-operator';

/** A Kubernetes object as rendered: only what the tests read is typed. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

let tools: Promise<ChartTools> | undefined;

/** helm, chart-check and kubectl, built by testbed/build.sh (a no-op when cached). */
export function chartTools(): Promise<ChartTools> {
  tools ??= ensureChartTools();
  return tools;
}

export function run(bin: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): string {
  try {
    return execFileSync(bin, args, {
      encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], input: opts.input ?? '', maxBuffer: 64 * 1024 * 1024, env: opts.env ?? process.env,
    });
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    throw new Error(`${path.basename(bin)} ${args.join(' ')} failed (exit ${e.status}):\n${e.stderr ?? ''}${e.stdout ?? ''}`);
  }
}

/** An environment for helm that reads and writes nothing of the user's (cache, config, repos). */
export function helmEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const home = scratchDir('helm-home');
  return {
    ...process.env,
    HELM_CACHE_HOME: path.join(home, 'cache'),
    HELM_CONFIG_HOME: path.join(home, 'config'),
    HELM_DATA_HOME: path.join(home, 'data'),
    ...extra,
  };
}

/** Writes values to a file for `-f` (JSON is YAML). */
export function valuesFile(values: Record<string, unknown>): string {
  const file = path.join(scratchDir('values'), 'values.json');
  writeFileSync(file, JSON.stringify(values));
  return file;
}

/**
 * A YAML stream as plain objects, every field kept (a typed client's deserializer drops the
 * fields it does not know, which would hide exactly the drift these tests look for).
 */
export async function parseObjects(yaml: string): Promise<K8sObject[]> {
  const { chartCheck } = await chartTools();
  const docs = JSON.parse(run(chartCheck, ['yaml-to-json'], { input: yaml })) as unknown[];
  return docs.filter((o): o is K8sObject => o !== null && typeof o === 'object' && 'kind' in o);
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  values?: Record<string, unknown>;
}

/** `helm template` of the chart, as objects; the image is PLACEHOLDER_IMAGE_REPOSITORY unless `values` name one. */
export async function renderChart(opts: RenderOptions = {}): Promise<K8sObject[]> {
  const { helm } = await chartTools();
  const args = ['template', opts.release ?? 'config-reload-operator', CHART, '--namespace', opts.namespace ?? 'config-reload-system'];
  // A later -f wins, key by key.
  args.push('-f', valuesFile({ image: { repository: PLACEHOLDER_IMAGE_REPOSITORY } }));
  if (opts.values) args.push('-f', valuesFile(opts.values));
  return parseObjects(run(helm, args, { env: helmEnv() }));
}

/** `kubectl kustomize` of a directory of manifests/, as objects. */
export async function renderKustomize(dir: string = MANIFESTS): Promise<K8sObject[]> {
  const { kubectl } = await chartTools();
  return parseObjects(run(kubectl, ['kustomize', dir]));
}

export function find(objects: K8sObject[], kind: string, name?: string): K8sObject | undefined {
  return objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
}

export function mustFind(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const o = find(objects, kind, name);
  if (!o) throw new Error(`no ${kind}${name ? ` ${name}` : ''} among: ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
}

// ---- the Deployment's pod template, typed for the comparisons --------------------------------

export interface Container {
  name: string;
  image?: string;
  imagePullPolicy?: string;
  args?: string[];
  env?: unknown[];
  ports?: unknown[];
  livenessProbe?: unknown;
  readinessProbe?: unknown;
  resources?: unknown;
  securityContext?: unknown;
}

export interface PodSpec {
  serviceAccountName?: string;
  terminationGracePeriodSeconds?: number;
  securityContext?: unknown;
  topologySpreadConstraints?: Array<Record<string, unknown> & { labelSelector?: { matchLabels?: Record<string, string> } }>;
  nodeSelector?: Record<string, string>;
  tolerations?: unknown[];
  affinity?: unknown;
  priorityClassName?: string;
  containers: Container[];
}

export interface DeploymentSpec {
  replicas?: number;
  revisionHistoryLimit?: number;
  strategy?: unknown;
  selector: { matchLabels: Record<string, string> };
  template: { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec };
}

export function deploymentSpec(o: K8sObject): DeploymentSpec {
  return o.spec as DeploymentSpec;
}

export function operatorContainer(o: K8sObject): Container {
  const c = deploymentSpec(o).template.spec.containers.find((x) => x.name === 'operator');
  if (!c) throw new Error(`Deployment ${o.metadata.name} has no container "operator"`);
  return c;
}

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}

export function rulesOf(o: K8sObject): PolicyRule[] {
  return (o.rules as PolicyRule[] | undefined) ?? [];
}
