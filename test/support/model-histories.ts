// One history of the model test (test/unit/model.test.ts, bench/model-run.ts): its operations
// applied in order to the world of ./model-world.ts, then quiescence, then the verdict of the
// pods oracle (./pods-oracle.ts) and of the harness.
import { encode, NS, optInAnnotations, podSpec, workloadObject } from './model-objects.ts';
import { type ConfigKind, type Op, PLURAL_OF, type Settings } from './model-ops.ts';
import { World } from './model-world.ts';
import { flushMicrotasks } from './virtual-clock.ts';

export { DEFAULT_SETTINGS, opArb, opsArb, settingsArb } from './model-ops.ts';
export type { Op, Settings } from './model-ops.ts';

export interface Verdict {
  violations: string[];
  /** Operator writes that changed a pod template. */
  rolls: number;
}

const CONFIG_PLURAL: Record<ConfigKind, 'configmaps' | 'secrets'> = { cm: 'configmaps', secret: 'secrets' };
const OPT_IN_ANNOTATIONS = ['config-reload.dev/enabled', 'config-reload.dev/configmaps', 'config-reload.dev/secrets'];

/** Runs one history; resolves with what the oracle and the harness found wrong (nothing: the operator kept the rules). */
export async function runHistory(ops: readonly Op[], settings: Settings): Promise<string[]> {
  return (await judgeHistory(ops, settings)).violations;
}

export async function judgeHistory(ops: readonly Op[], settings: Settings): Promise<Verdict> {
  // Every jitter (the reflectors' backoffs and watch timeouts) comes from the virtual clock's
  // seeded random(): a history replays (and shrinks) the same way every time.
  return await judge(ops, settings);
}

async function judge(ops: readonly Op[], settings: Settings): Promise<Verdict> {
  const world = new World(settings);
  await world.start();
  try {
    for (const o of ops) {
      await apply(world, o);
      await flushMicrotasks();
    }
    await world.settle(true);
    check(world);
  } finally {
    await world.stop();
  }
  const { oracle } = world;
  return { violations: [...(settings.dryRun ? [] : oracle.violations), ...world.problems], rolls: oracle.rolls };
}

/** The verdict at quiescence: the oracle's misses, and the harness's own checks. */
function check(world: World): void {
  const { oracle, settings } = world;
  if (settings.dryRun) {
    // Dry-run writes nothing at all; what it would have rolled is not the oracle's to judge.
    if (oracle.operatorWrites > 0) world.problems.push(`dry-run: the operator wrote ${oracle.operatorWrites} times`);
    return;
  }
  const failing = new Set([...world.refused, ...(settings.waves ? world.failingRollouts : [])]);
  const { held } = oracle.checkQuiescent({ failing, waves: settings.waves !== null, actor: world.leaderId, unordered: settings.templateOrder === 'off' });
  // A held wave is correct only when said: the consumers left behind get a WaveHeld warning.
  const silent = held.filter((h) => !h.failing);
  if (silent.length > 0 && !world.warnings.includes('WaveHeld')) {
    world.problems.push(`held without a WaveHeld warning: ${silent.map((h) => h.problem).join('; ')}`);
  }
}

async function apply(world: World, o: Op): Promise<void> {
  const { cluster, clock } = world;
  switch (o.op) {
    case 'put': {
      const plural = CONFIG_PLURAL[o.kind];
      const current = cluster.get(plural, NS, o.name);
      const data = { ...(current?.['data'] as Record<string, string> | undefined), [o.key]: encode(o.kind, String(o.value)) };
      const metadata = { name: o.name, namespace: NS, labels: current?.metadata.labels ?? {}, annotations: current?.metadata.annotations ?? {} };
      cluster.put(plural, { metadata, data, ...(o.kind === 'secret' ? { type: 'Opaque' } : {}) } as never);
      return;
    }
    case 'delete':
      cluster.delete(CONFIG_PLURAL[o.kind], NS, o.name);
      return;
    case 'label':
      if (cluster.get(CONFIG_PLURAL[o.kind], NS, o.name)) {
        cluster.update(CONFIG_PLURAL[o.kind], NS, o.name, (c) => void (c.metadata.labels = { edited: String(cluster.resourceVersion) }));
      }
      return;
    case 'recreate': {
      const current = cluster.get(CONFIG_PLURAL[o.kind], NS, o.name);
      if (!current) return;
      cluster.delete(CONFIG_PLURAL[o.kind], NS, o.name);
      const { uid: _uid, resourceVersion: _rv, ...metadata } = current.metadata;
      cluster.put(CONFIG_PLURAL[o.kind], { ...current, metadata });
      return;
    }
    case 'ignore':
      if (cluster.get(CONFIG_PLURAL[o.kind], NS, o.name)) {
        cluster.update(CONFIG_PLURAL[o.kind], NS, o.name, (c) => {
          const { 'config-reload.dev/ignore': _was, ...annotations } = c.metadata.annotations ?? {};
          c.metadata.annotations = o.on ? { ...annotations, 'config-reload.dev/ignore': 'true' } : annotations;
        });
      }
      return;
    case 'create':
      if (world.workloads.has(o.wl)) return;
      world.workloads.set(o.wl, { type: o.type, refs: o.refs, image: 1 });
      cluster.put(PLURAL_OF[o.type], workloadObject(o.wl, o.type, o.refs, o.optIn));
      if (o.settle) await world.settle();
      return;
    case 'remove': {
      const spec = world.workloads.get(o.wl);
      if (!spec) return;
      world.workloads.delete(o.wl);
      cluster.delete(PLURAL_OF[spec.type], NS, o.wl);
      return;
    }
    case 'template': {
      const spec = world.workloads.get(o.wl);
      if (!spec) return;
      spec.refs = o.refs ?? spec.refs;
      spec.image = o.image;
      cluster.update(PLURAL_OF[spec.type], NS, o.wl, (w) => {
        (w as unknown as { spec: { template: { spec: unknown } } }).spec.template.spec = podSpec(spec.refs, spec.image);
      });
      return;
    }
    case 'status':
      world.writeStatus(o.wl, cluster.resourceVersion);
      return;
    case 'optIn': {
      const spec = world.workloads.get(o.wl);
      if (!spec) return;
      cluster.update(PLURAL_OF[spec.type], NS, o.wl, (w) => {
        const kept = Object.entries(w.metadata.annotations ?? {}).filter(([k]) => !OPT_IN_ANNOTATIONS.includes(k));
        w.metadata.annotations = { ...Object.fromEntries(kept), ...optInAnnotations(o.optIn) };
      });
      if (o.settle) await world.settle();
      return;
    }
    case 'pause': {
      // With waves, a paused member holds the waves behind it (wave_waiting, said by nothing the
      // oracle reads): not modelled there.
      const spec = world.workloads.get(o.wl);
      if (!spec || world.settings.waves !== null) return;
      cluster.update(PLURAL_OF[spec.type], NS, o.wl, (w) => {
        w.metadata.annotations = { ...w.metadata.annotations, 'config-reload.dev/paused': String(o.on) };
      });
      if (o.settle) await world.settle();
      return;
    }
    case 'deliver':
      // Unordered (--template-order off), the operator's only order is the one its watches
      // deliver in: the contract assumes they keep up with each other, so none is made to lag.
      if (world.settings.templateOrder === 'off') cluster.deliverAll();
      else cluster.deliver(o.plural, o.n);
      return;
    case 'answers':
      cluster.releaseAnswers();
      return;
    case 'patchMode':
      cluster.patchMode = o.mode;
      return;
    case 'relist':
      // Unordered, a broken watch breaks the one order there is (see 'deliver'): docs/flags.md, --template-order.
      if (world.settings.templateOrder === 'off') return;
      // The reflector re-watches (at once, or after a short backoff) and meets 410 on its next delivery.
      cluster.compact();
      cluster.closeWatches(o.plural);
      return;
    case 'forbid':
      cluster.forbid(o.plural, o.on);
      return;
    case 'refuse':
      world.refused.add(o.wl);
      cluster.refusePatchesOf(o.wl);
      return;
    case 'failRollout':
      world.failingRollouts.add(o.wl);
      return;
    case 'advance':
      await clock.advance(o.ms);
      return;
    case 'settle':
      await world.settle();
      return;
    case 'resync':
      world.leader.resync('periodic');
      return;
    case 'restart':
      await world.restart();
      return;
    case 'failover':
      await world.failover();
      return;
  }
}
