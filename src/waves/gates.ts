// The waves of shared config objects, over the stores (docs/architecture.md, "Waves"): builds
// the pure plan (src/waves/plan.ts) of one config object from its consumers' entries, caches
// it until a store moves or a wave times out, and gates one workload's roll by the plans of
// the shared objects whose change it rolls for. It holds nothing the cluster does not show:
// a cache, and the last plan's signature per object so that the controller learns when a
// wave moves (to queue the next one, arm a timeout, say that a change is held).
import { RELEASE_ANNOTATION } from '../core/annotations.ts';
import { decide } from '../core/decide.ts';
import { type SourceKey, sourceKey, type WorkloadKey } from '../core/keys.ts';
import type { Decision, SourceKind } from '../core/types.ts';
import { byOrder, contentToken, describeWave, planWaves, type WaveConsumer, type WavePlan, type WaveSettings, type WaveVerdict } from './plan.ts';
import { currentSince } from '../state/source-history.ts';
import { recordView, type WorkloadState, type WorkloadStore } from '../state/workload-store.ts';
import { decisionInput, type EvaluationContext } from '../reconcile/evaluate.ts';

/** A config object, by its parts (keys are never split back, src/core/keys.ts). */
export interface SourceRef {
  readonly kind: SourceKind;
  readonly namespace: string;
  readonly name: string;
}

export interface SourcePlan extends SourceRef {
  readonly source: SourceKey;
  /** "ConfigMap shared", for messages. */
  readonly display: string;
  readonly token: string;
  readonly released: boolean;
  readonly plan: WavePlan;
  /** Changes whenever the waves move: active, token, frontier, failing, when the rolling wave times out. */
  readonly signature: string;
}

export interface WaveGatesOptions {
  settings: WaveSettings;
  workloads: WorkloadStore;
  consumersOf(source: SourceKey): ReadonlySet<WorkloadKey>;
  /** The decision context without waves (the plan reads the consumers' own decisions). */
  context(): EvaluationContext;
  /** Moves whenever a config object or the availability of a kind changes. */
  sourcesRevision(): number;
  /** Told when a config object's plan changed signature (computed for whatever reason). */
  onPlan(plan: SourcePlan, previous: string | undefined): void;
}

interface Cached {
  workloads: number;
  sources: number;
  /** The shared object's own entry the plan was built from (its content, its release). */
  entry: unknown;
  builtAt: number;
  validUntil: number;
  value: SourcePlan;
}

/**
 * How long a plan may serve gates after its consumers (or other config objects) moved. Every
 * event of a consumer moves the plan's inputs, and a plan reads every consumer: rebuilt per
 * event, a fan-out of N consumers cost N² (1,000 consumers rolled in 363 s in waves against 61 s
 * at once). A plan this young is no more stale than a status the watch delivers this much later;
 * a new content or release of the shared object itself, or a wave's timeout, always rebuilds it.
 */
export const PLAN_REUSE_MS = 250;

export class WaveGates {
  readonly settings: WaveSettings;
  readonly #opts: WaveGatesOptions;
  readonly #plans = new Map<SourceKey, Cached>();
  readonly #signatures = new Map<SourceKey, string>();
  /**
   * A consumer's own decision, per entry (entries are immutable values): valid while the entries
   * of the config objects it consumes are the same (stores replace an entry on every change of
   * it), and so are their availability and last change. Not the stores' revision: any
   * ConfigMap's change would make every consumer of every shared object hash its configuration
   * again.
   */
  readonly #decisions = new WeakMap<WorkloadState, { inputs: readonly unknown[]; sources: number; validUntil: number; rolls: boolean }>();
  /** Per shared object, its consumers in the last plan's order (see #build). */
  readonly #order = new Map<SourceKey, WorkloadKey[]>();

  constructor(opts: WaveGatesOptions) {
    this.#opts = opts;
    this.settings = opts.settings;
  }

  get enabled(): boolean {
    return this.settings.threshold > 0;
  }

  /** Whether a change of `source` rolls in waves: more consumers than the threshold. */
  isShared(source: SourceKey): boolean {
    return this.enabled && this.#opts.consumersOf(source).size > this.settings.threshold;
  }

  /** The shared config objects a roll of `w` is for (every shared one it consumes when that is not known: a catch-up). */
  sourcesOf(w: WorkloadState, decision: Decision | undefined): SourceRef[] {
    if (!this.enabled) return [];
    const names = new Set(decision?.for ?? []);
    const all = names.size === 0;
    return w.consumed
      .filter((c) => all || names.has(`${c.kind} ${c.name}`))
      .map((c) => ({ kind: c.kind, namespace: w.namespace, name: c.name }))
      .filter((s) => this.isShared(sourceKey(s.kind, s.namespace, s.name)));
  }

  /**
   * The plan of a config object now (cached); undefined when it is not shared. `fresh`: built
   * from the stores as they are (the controller's coalesced rebuild after consumers moved); else
   * a plan up to PLAN_REUSE_MS old serves, unless the object itself changed or a wave timed out.
   */
  plan(ref: SourceRef, opts: { fresh?: boolean } = {}): SourcePlan | undefined {
    const source = sourceKey(ref.kind, ref.namespace, ref.name);
    if (!this.isShared(source)) {
      this.#forget(source, ref);
      return undefined;
    }
    const ctx = this.#opts.context();
    const workloads = this.#opts.workloads.revision;
    const sources = this.#opts.sourcesRevision();
    const entry = ctx.sources.store(ref.kind)?.get(source);
    const cached = this.#plans.get(source);
    if (cached && ctx.now < cached.validUntil && cached.entry === entry) {
      if (cached.workloads === workloads && cached.sources === sources) return cached.value;
      if (!opts.fresh && ctx.now - cached.builtAt < PLAN_REUSE_MS) return cached.value;
    }
    const value = this.#build(source, ref, ctx);
    let validUntil = value.plan.recheckAt ?? Infinity;
    for (const key of this.#opts.consumersOf(source)) {
      const expires = this.#opts.workloads.get(key)?.pendingWrite?.expiresAt;
      if (expires !== undefined && expires > ctx.now) validUntil = Math.min(validUntil, expires);
    }
    this.#plans.set(source, { workloads, sources, entry, builtAt: ctx.now, validUntil, value });
    const previous = this.#signatures.get(source);
    if (previous !== value.signature) {
      this.#signatures.set(source, value.signature);
      this.#opts.onPlan(value, previous);
    }
    return value;
  }

  /**
   * The gate of `decision` (the workload's own) by the waves of the shared objects it rolls
   * for: the roll as it is when every one says go, else none, waiting or held.
   */
  gate(w: WorkloadState, decision: Decision): Decision {
    if (decision.action !== 'roll' || !this.enabled) return decision;
    let go: { plan: SourcePlan; verdict: WaveVerdict } | undefined;
    let wait: { plan: SourcePlan; verdict: Extract<WaveVerdict, { gate: 'wait' }> } | undefined;
    for (const source of this.sourcesOf(w, decision)) {
      const plan = this.plan(source);
      if (!plan || !plan.plan.active) continue;
      const verdict = plan.plan.verdict(w.key);
      if (verdict.gate === 'held') return held(w, plan, verdict);
      if (verdict.gate === 'wait') wait ??= { plan, verdict };
      else go ??= { plan, verdict };
    }
    if (wait) {
      const { plan, verdict } = wait;
      return {
        action: 'none', code: 'wave_waiting',
        reason: `${plan.display} changed (content ${plan.token}): in ${describeWave(verdict.wave)}, waiting for ${describeWave({ index: verdict.waitingFor, of: verdict.wave.of })} to roll out and become available`,
      };
    }
    if (go?.verdict.wave) return { ...decision, wave: { source: go.plan.display, position: describeWave(go.verdict.wave), token: go.plan.token } };
    return decision;
  }

  /** Forgets what is kept for an object no longer shared (its signature, so that sharing again starts afresh). */
  #forget(source: SourceKey, ref: SourceRef): void {
    this.#plans.delete(source);
    this.#order.delete(source);
    const previous = this.#signatures.get(source);
    if (previous === undefined) return;
    this.#signatures.delete(source);
    this.#opts.onPlan({
      ...ref, source, display: `${ref.kind} ${ref.name}`, token: '', released: false, signature: 'unshared',
      plan: planWaves([], this.settings, 0, false),
    }, previous);
  }

  #build(source: SourceKey, ref: SourceRef, ctx: EvaluationContext): SourcePlan {
    const store = ctx.sources.store(ref.kind);
    const entry = store?.get(source);
    const token = contentToken(entry?.content.keyDigests);
    const released = entry?.release !== undefined && entry.release === token;
    const consumers: WaveConsumer[] = [];
    for (const key of this.#inLastOrder(source)) {
      const w = this.#opts.workloads.get(key);
      if (!w) continue;
      const pending = w.pendingWrite !== undefined && w.pendingWrite.expiresAt > ctx.now;
      // A roll to this content the apiserver refused: it cannot roll out, as good as failed.
      const refused = w.refusedRoll !== undefined && w.refusedRoll === decisionInput(w, ctx).desiredDigest;
      // Only a rollout that can carry this content says anything about it: one whose template was
      // written before the content changed (a consumer whose keys did not change, one slow for
      // its own reasons) is not judged. Undated (listed at start-up): judged, the safe side.
      const changedAt = currentSince(entry?.history);
      const written = recordView(w, ctx.now).templateWritten;
      const judged = written === undefined || changedAt === undefined || written.hi >= changedAt;
      consumers.push({
        key, order: `${w.namespace}/${w.name}/${w.kind}`, canary: w.canary,
        // A refused roll was tried and failed: it counts as a member that rolled and failed.
        upToDate: refused || !this.#rolls(w, ctx),
        // Our roll the watch has not shown yet: its rollout has not even been observed.
        health: refused ? 'failed' : pending ? 'progressing' : judged ? w.health : 'healthy',
        progressingSince: pending || !judged ? undefined : w.progressingSince,
      });
    }
    // In the last plan's order, the consumers are sorted already but for those that moved: the
    // sort (here and planWaves's own) runs through them in one pass instead of N log N compares.
    consumers.sort(byOrder);
    this.#order.set(source, consumers.map((c) => c.key as WorkloadKey));
    const plan = planWaves(consumers, this.settings, ctx.now, released);
    const signature = plan.active
      ? `${token}|${plan.frontier}|${[...plan.failing].sort().join(',')}|${plan.held.length > 0}|${plan.recheckAt ?? ''}|${plan.waves[plan.frontier]?.join(',') ?? ''}`
      : `inactive|${token}|${released}`;
    return { ...ref, source, display: `${ref.kind} ${ref.name}`, token, released, plan, signature };
  }

  /** The consumers of `source`: those of the last plan in its order, then any new ones. */
  *#inLastOrder(source: SourceKey): Iterable<WorkloadKey> {
    const members = this.#opts.consumersOf(source);
    const last = this.#order.get(source) ?? [];
    let seen = 0;
    for (const key of last) {
      if (!members.has(key)) continue;
      seen++;
      yield key;
    }
    if (seen === members.size) return;
    const before = new Set(last);
    for (const key of members) if (!before.has(key)) yield key;
  }

  /** Whether the workload's own decision (without waves) is a roll: it does not run the current content. */
  #rolls(w: WorkloadState, ctx: EvaluationContext): boolean {
    const sources = this.#opts.sourcesRevision();
    const known = this.#decisions.get(w);
    // No config object changed since: the inputs below cannot have moved (plans are rebuilt
    // every WAVE_COALESCE_MS while a fan-out rolls; reading every consumer's inputs each time was
    // a third of a rebuild).
    if (known && known.sources === sources && ctx.now < known.validUntil) return known.rolls;
    // Per consumed object: its entry, its kind's availability, and the version of its last change
    // (for an absent object, the store's tombstone: no entry to replace).
    const inputs = w.consumed.flatMap((c) => {
      const store = ctx.sources.store(c.kind);
      const key = sourceKey(c.kind, w.namespace, c.name);
      return [store?.get(key), ctx.sources.available(c.kind), store?.history(key)];
    });
    if (known && ctx.now < known.validUntil && sameItems(known.inputs, inputs)) {
      this.#decisions.set(w, { ...known, sources });
      return known.rolls;
    }
    // Waiting for a watch to catch up is not up to date: it may yet have to roll.
    const own = decide(decisionInput(w, ctx));
    const rolls = own.action === 'roll' || own.code === 'waiting_for_watch';
    const expires = w.pendingWrite?.expiresAt;
    this.#decisions.set(w, { inputs, sources, validUntil: expires !== undefined && expires > ctx.now ? expires : Infinity, rolls });
    return rolls;
  }
}

function sameItems(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function held(w: WorkloadState, plan: SourcePlan, verdict: Extract<WaveVerdict, { gate: 'held' }>): Decision {
  return {
    action: 'none', code: 'wave_held', warning: 'WaveHeld', cause: `${plan.display} change held at content ${plan.token}`,
    reason: `${plan.display} change held at content ${plan.token}: ${heldBecause(verdict.failing)}; `
      + `not rolling ${w.kind} ${w.name} (in ${describeWave(verdict.wave)}) until the next change of ${plan.display}, `
      + `or: ${releaseCommand(plan)}`,
  };
}

/** What a person runs to roll the rest of a held change anyway. */
export function releaseCommand(plan: SourcePlan): string {
  return `kubectl annotate ${plan.kind.toLowerCase()} ${plan.name} -n ${plan.namespace} --overwrite ${RELEASE_ANNOTATION}=${plan.token}`;
}

/** "Deployment/ns/web-00 failed its rollout" for up to 5, then a count. */
export function heldBecause(failing: readonly string[]): string {
  const shown = failing.slice(0, 5).join(', ');
  const more = failing.length > 5 ? ` and ${failing.length - 5} more` : '';
  return `${shown}${more} did not roll out healthy`;
}
