// helm-secrets: a few ordinary pairs (ConfigMaps and Secrets) plus H helm release Secrets
// (type helm.sh/release.v1) of `helmBytes` each: the operator started without them, with them
// (default: excluded by a field selector), with them listed (--exclude-secret-types ""), and
// without them again; RSS, bytes read, the fieldSelector of every secrets LIST/WATCH, and the
// latency of a Secret change.
import { apiserverSecretFigures } from '../lib/apiserver-metrics.ts';
import { countByVerb, listWatchSelectors, readAudit, type SelectorCount, type Window } from '../lib/audit.ts';
import { OPERATOR_USER } from '../lib/cluster.ts';
import type { Ctx } from '../lib/context.ts';
import { createObjects, openWindow, pairOf, queueIdle, readSync, startOp, stopOp, withCluster } from '../lib/harness.ts';
import { pool } from '../lib/kube.ts';
import { type LatencyResult, measureLatency } from '../lib/latency.ts';
import { HASH, NS, SECRET_APP_PREFIX, secret, secretPayload, sourceOf } from '../lib/objects.ts';
import type { OperatorMemory } from '../lib/procs.ts';
import { mib } from '../lib/stats.ts';
import { round1, sleep, untilStill } from '../lib/util.ts';

/** H helm release Secrets of helmBytes each, beside `pairs` ordinary pairs (half Secrets) of 1 KiB. */
export interface HelmSpec { kind: 'helm-secrets'; name: string; helmSecrets: number; helmBytes: number; pairs: number }

export interface HelmArm {
  label: string;
  /** Helm release Secrets in the cluster during this run of the operator. */
  helmSecrets: number;
  /** The operator's flags beyond the common ones. */
  args: string[];
  bootMs: number | undefined;
  syncedMs: number;
  /** Objects in the operator's stores at sync (its "caches synced" log line). */
  stored: Record<string, number>;
  memoryAtSync: OperatorMemory;
  memorySettled: OperatorMemory;
  /** Bytes the operator read (rchar) from spawn to sync, and to the end of its run. */
  readBytesAtSync: number;
  readBytesAtEnd: number;
  /** The apiserver's own figures for the run (its /metrics, differences): LIST secrets responses, Secret watch events. */
  apiserver: { listSecretsRequests: number; listSecretsBytes: number; secretWatchEvents: number; secretWatchEventBytes: number };
  /** Every secrets LIST and WATCH of the operator in this run, by fieldSelector (audit log). */
  secretRequests: SelectorCount[];
  /** Every request of the operator in this run, by verb and resource (audit log). */
  api: Record<string, number>;
  rollsMetric: number;
  adoptions: number;
  /** Latency of a Secret change (--debounce 0). */
  latency: LatencyResult;
}

export interface HelmResult {
  scenario: string;
  kind: 'helm-secrets';
  helmSecrets: number;
  /** Bytes of data per helm release Secret (base64 in the API: 4/3 of this on the wire). */
  helmSecretBytes: number;
  /** The operator's default exclusion: what every secrets LIST/WATCH should carry. */
  expectedSelector: string;
  pairs: { configMaps: number; secrets: number };
  createSeconds: number;
  helmCreateSeconds: number;
  helmDeleteSeconds: number;
  arms: HelmArm[];
  operatorProblems: string[];
}

const HELM_TYPE = 'helm.sh/release.v1';
/** The labels helm puts on a release Secret (plus one of the benchmark's, to delete them). */
const HELM_LABEL = 'bench.config-reload.dev/helm-release';

export async function runHelm(ctx: Ctx, sc: HelmSpec): Promise<HelmResult> {
  return withCluster(ctx, sc.name, async (env) => {
    // Ordinary pairs, half of them on a Secret: the operator has work, and Secret changes to time.
    const apps = Array.from({ length: sc.pairs }, (_, i) => (i % 2 === 1 ? `${SECRET_APP_PREFIX}${i}` : `app-${i}`));
    const secretApps = apps.filter((a) => sourceOf(a).kind === 'Secret');
    const created = await createObjects(env, apps.map((app) => pairOf(app)), 1024, true);
    const windows = new Map<string, Window>();
    const arms: Array<Omit<HelmArm, 'secretRequests' | 'api'>> = [];

    const runArm = async (label: string, args: string[], helmSecrets: number) => {
      // Watch events of the Secrets written before (the control plane's own watches) still in
      // flight would count in this run: wait until the apiserver's counters are still.
      // The watch events of the Secrets just written must not count in this run.
      const before = await untilStill(() => apiserverSecretFigures(env), (a, b) => a.watchEvents === b.watchEvents && a.listRequests === b.listRequests);
      const w = openWindow(env, `helm: ${label}`, OPERATOR_USER);
      windows.set(label, w);
      const op = await startOp(env, `helm-${arms.length + 1}`, '0', 600_000, { args });
      const { stored, memoryAtSync, memorySettled, rollsMetric, adoptions } = await readSync(op);
      ctx.log(`  ${label}: synced ${Math.round(op.syncedMs)} ms, stored ${JSON.stringify(stored)}, RSS at sync ${mib(memoryAtSync.rssBytes)} MiB, `
        + `settled ${mib(memorySettled.rssBytes)} MiB, peak ${mib(memorySettled.peakRssBytes)} MiB, read ${mib(memoryAtSync.readBytes ?? NaN)} MiB to sync`);
      const [latency] = await measureLatency(env, [{ label: `operator (${label}), Secret changes`, key: HASH, apps: secretApps }], 1024) as [LatencyResult];
      await queueIdle(op, 30_000);
      const readBytesAtEnd = op.proc.stat()?.readBytes ?? NaN;
      await stopOp(env, op);
      w.to = Date.now();
      w.changes = ctx.settings.samples + ctx.settings.warmup;
      const after = await apiserverSecretFigures(env);
      arms.push({
        label, helmSecrets, args, bootMs: op.bootMs, syncedMs: Math.round(op.syncedMs), stored, memoryAtSync, memorySettled,
        readBytesAtSync: memoryAtSync.readBytes ?? NaN, readBytesAtEnd,
        apiserver: {
          listSecretsRequests: after.listRequests - before.listRequests, listSecretsBytes: after.listBytes - before.listBytes,
          secretWatchEvents: after.watchEvents - before.watchEvents, secretWatchEventBytes: after.watchBytes - before.watchBytes,
        },
        rollsMetric, adoptions, latency,
      });
    };

    await runArm('without helm Secrets', [], 0);

    // The helm release Secrets: `release` holds helmBytes of incompressible data (helm's own is
    // gzip, base64-encoded once more), named and labelled as helm names them.
    const t0 = performance.now();
    const releases = Math.max(1, Math.ceil(sc.helmSecrets / 10));
    const helm = Array.from({ length: sc.helmSecrets }, (_, i) => ({ release: `rel-${i % releases}`, version: Math.floor(i / releases) + 1 }));
    let done = 0;
    await pool(helm, Math.min(ctx.settings.concurrency, 8), async ({ release, version }) => {
      const body = secret(`sh.helm.release.v1.${release}.v${version}`, { release: secretPayload(sc.helmBytes) }, HELM_TYPE, {
        name: release, owner: 'helm', status: 'superseded', version: String(version), [HELM_LABEL]: 'true',
      });
      await env.cl.admin.requestRetry('POST', `/api/v1/namespaces/${NS}/secrets`, body);
      if (++done % 500 === 0) ctx.log(`  created ${done}/${sc.helmSecrets} helm release Secrets`);
    });
    const helmCreateSeconds = round1((performance.now() - t0) / 1000);
    ctx.log(`  ${sc.helmSecrets} helm release Secrets of ${Math.round(sc.helmBytes / 1024)} KiB created in ${helmCreateSeconds} s`);

    await runArm('helm Secrets excluded (default)', [], sc.helmSecrets);
    await runArm('helm Secrets listed (--exclude-secret-types "")', ['--exclude-secret-types', ''], sc.helmSecrets);
    await runArm('helm Secrets excluded (default), again', [], sc.helmSecrets);

    // One by one: a DELETE of the collection answers with every deleted object (here more than
    // one string can hold).
    const t1 = performance.now();
    await pool(helm, Math.min(ctx.settings.concurrency, 8), async ({ release, version }) => {
      await env.cl.admin.requestRetry('DELETE', `/api/v1/namespaces/${NS}/secrets/sh.helm.release.v1.${release}.v${version}`, undefined, undefined, (st) => st === 404);
    });
    const gone = await (async () => {
      const deadline = performance.now() + 300_000;
      while (performance.now() < deadline) {
        const left = await env.cl.admin.requestRetry<{ items: unknown[] }>('GET', `/api/v1/namespaces/${NS}/secrets?limit=1&labelSelector=${encodeURIComponent(`${HELM_LABEL}=true`)}`);
        if (left.body.items.length === 0) return true;
        await sleep(500);
      }
      return false;
    })();
    if (!gone) env.problems.push('helm release Secrets still present 300 s after their deletion');
    const helmDeleteSeconds = round1((performance.now() - t1) / 1000);
    await runArm('without helm Secrets, again (deleted)', [], 0);

    const requests = await readAudit(env.cl.auditLog);
    const result: HelmResult = {
      scenario: sc.name, kind: 'helm-secrets', helmSecrets: sc.helmSecrets, helmSecretBytes: sc.helmBytes,
      expectedSelector: `type!=${HELM_TYPE}`,
      pairs: { configMaps: apps.length - secretApps.length, secrets: secretApps.length },
      createSeconds: created.createSeconds, helmCreateSeconds, helmDeleteSeconds,
      arms: arms.map((a) => {
        const w = windows.get(a.label) as Window;
        return { ...a, secretRequests: listWatchSelectors(requests, OPERATOR_USER, 'secrets', w), api: countByVerb(requests, OPERATOR_USER, w) };
      }),
      operatorProblems: env.problems,
    };
    for (const a of result.arms) {
      ctx.log(`  ${a.label}: secrets LIST/WATCH ${a.secretRequests.map((r) => `${r.verb} ×${r.count} [${r.fieldSelector || 'no fieldSelector'}]`).join(', ')}`);
    }
    return result;
  });
}
