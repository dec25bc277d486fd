// Where the control-plane binaries come from: the per-version cache that testbed/build.sh
// fills from the Go module proxy, with KUBEBUILDER_ASSETS (setup-envtest's layout) taking
// precedence for the binaries it holds.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ControlPlaneBinaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubectl: string;
  kwok: string;
  kwokStages: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Runs the builder (a no-op when the cache holds the pinned versions), streaming its progress
 * to stderr, and resolves every binary's path.
 */
export async function ensureBinaries(): Promise<ControlPlaneBinaries> {
  const binDir = await runBuilder();
  const assets = process.env.KUBEBUILDER_ASSETS;
  const pick = (name: string): string => {
    if (assets && existsSync(path.join(assets, name))) return path.join(assets, name);
    const built = path.join(binDir, name);
    if (!existsSync(built)) throw new Error(`testbed: ${name} is missing from ${binDir} after the build`);
    return built;
  };
  return {
    etcd: pick('etcd'),
    kubeApiserver: pick('kube-apiserver'),
    kubectl: pick('kubectl'),
    kubeControllerManager: pick('kube-controller-manager'),
    kubeScheduler: pick('kube-scheduler'),
    kwok: pick('kwok'),
    kwokStages: pick('kwok-stages.yaml'),
  };
}

/** Tools of the chart and monitoring tests, built and cached with the control plane. */
export interface ChartTools {
  helm: string;
  /** testbed/chart-check: YAML to JSON, and Prometheus' own rule-file validation and PromQL parser. */
  chartCheck: string;
  /** For `kubectl kustomize`. */
  kubectl: string;
}

/** Runs the builder (a no-op when warm) and resolves helm, chart-check and kubectl. */
export async function ensureChartTools(): Promise<ChartTools> {
  const binDir = await runBuilder();
  const built = (name: string): string => {
    const file = path.join(binDir, name);
    if (!existsSync(file)) throw new Error(`testbed: ${name} is missing from ${binDir} after the build`);
    return file;
  };
  const assets = process.env.KUBEBUILDER_ASSETS;
  const kubectl = assets && existsSync(path.join(assets, 'kubectl')) ? path.join(assets, 'kubectl') : built('kubectl');
  return { helm: built('helm'), chartCheck: built('chart-check'), kubectl };
}

let builder: Promise<string> | undefined;

/** One builder run per process: the unit and e2e suites may both ask for it. */
function runBuilder(): Promise<string> {
  builder ??= spawnBuilder();
  return builder;
}

function spawnBuilder(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(here, 'build.sh')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const lines = out.trim().split('\n');
      const dir = lines[lines.length - 1];
      if (code === 0 && dir) resolve(dir);
      else reject(new Error(`testbed: building the control plane failed (exit ${code}); see the log above`));
    });
  });
}
