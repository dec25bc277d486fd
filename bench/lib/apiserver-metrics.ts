// The apiserver's own counters (its /metrics), to every client: LIST responses and watch events,
// counts and bytes, for ConfigMaps (scoping) and Secrets (helm-secrets). The audit log has no
// response sizes; these do.
import type { Env } from './harness.ts';
import { untilStill } from './util.ts';

/** The apiserver's /metrics, read once: the sum of the series of `metric` whose labels match. */
async function metricSums(env: Env): Promise<(metric: string, match: (labels: string) => boolean) => number> {
  const res = await env.cl.admin.requestRetry<unknown>('GET', '/metrics');
  const text = typeof res.body === 'string' ? res.body : '';
  return (metric: string, match: (labels: string) => boolean): number => {
    let total = 0;
    for (const m of text.matchAll(new RegExp(`^${metric}\\{([^}]*)\\} ([0-9.e+-]+)$`, 'gm'))) {
      if (match(m[1] ?? '')) total += Number(m[2]);
    }
    return total;
  };
}

// ---- ConfigMaps (scoping) --------------------------------------------------------------------

/** The apiserver's own counters (its /metrics), to every client. */
export interface ApiserverFigures {
  /** LIST configmaps responses: count, and bytes written (apiserver_response_sizes: after gzip when the client accepts it). */
  listConfigMapsRequests: number;
  listConfigMapsBytes: number;
  listDeploymentsRequests: number;
  listDeploymentsBytes: number;
  /** ConfigMap watch events sent, to every watcher (apiserver_watch_events_sizes, encoded size). */
  configMapWatchEvents: number;
  configMapWatchEventBytes: number;
}

export async function apiserverFigures(env: Env): Promise<ApiserverFigures> {
  const sum = await metricSums(env);
  const list = (resource: string) => (l: string) => l.includes(`resource="${resource}"`) && l.includes('verb="LIST"');
  const cmEvents = (l: string) => l.includes('kind="ConfigMap"') || l.includes('resource="configmaps"');
  return {
    listConfigMapsRequests: sum('apiserver_response_sizes_count', list('configmaps')),
    listConfigMapsBytes: sum('apiserver_response_sizes_sum', list('configmaps')),
    listDeploymentsRequests: sum('apiserver_response_sizes_count', list('deployments')),
    listDeploymentsBytes: sum('apiserver_response_sizes_sum', list('deployments')),
    configMapWatchEvents: sum('apiserver_watch_events_sizes_count', cmEvents),
    configMapWatchEventBytes: sum('apiserver_watch_events_sizes_sum', cmEvents),
  };
}

export function diff(a: ApiserverFigures, b: ApiserverFigures): ApiserverFigures {
  return Object.fromEntries(Object.keys(a).map((k) => [k, b[k as keyof ApiserverFigures] - a[k as keyof ApiserverFigures]])) as unknown as ApiserverFigures;
}

/** Waits until the apiserver's ConfigMap counters stand still for 2 s (events of earlier writes delivered). */
export function apiserverStill(env: Env): Promise<ApiserverFigures> {
  return untilStill(() => apiserverFigures(env), (a, b) => a.configMapWatchEvents === b.configMapWatchEvents && a.listConfigMapsRequests === b.listConfigMapsRequests);
}

// ---- Secrets (helm-secrets) ------------------------------------------------------------------

export interface ApiserverSecretFigures {
  listRequests: number;
  listBytes: number;
  watchEvents: number;
  watchBytes: number;
}

/**
 * The apiserver's own counters for Secrets (its /metrics): LIST responses on secrets, pages
 * and bytes (apiserver_response_sizes), and Secret watch events sent and their bytes
 * (apiserver_watch_events_sizes), to every client. Differences over a run: the operator is the
 * only client that lists Secrets then; watch events also count the control plane's own Secret
 * watches (the apiserver's own informer, the garbage collector's metadata watch), which see the
 * benchmark's Secret changes — and every helm release Secret written.
 */
export async function apiserverSecretFigures(env: Env): Promise<ApiserverSecretFigures> {
  const sum = await metricSums(env);
  const listSecrets = (l: string) => l.includes('resource="secrets"') && l.includes('verb="LIST"');
  const secretEvents = (l: string) => l.includes('kind="Secret"') || l.includes('resource="secrets"');
  return {
    listRequests: sum('apiserver_response_sizes_count', listSecrets),
    listBytes: sum('apiserver_response_sizes_sum', listSecrets),
    watchEvents: sum('apiserver_watch_events_sizes_count', secretEvents),
    watchBytes: sum('apiserver_watch_events_sizes_sum', secretEvents),
  };
}
