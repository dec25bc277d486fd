// Moves the waves of shared config objects along (docs/architecture.md, "Waves"): owns the
// gates (./gates.ts), and when a plan moves it hands the consumers not rolled yet back to
// triage through one `enqueue` call, arms the rolling wave's timeout, and says once that a
// wave rolls or is held (log, WaveHeld event). Plans rebuilt because consumers moved are
// coalesced: a plan reads every consumer, and a rolling fan-out moves one per rollout step.
import type { Logger } from 'winston';
import { type SourceKey, sourceKey, type WorkloadKey } from '../core/keys.ts';
import type { SourceKind } from '../core/types.ts';
import type { EventSink } from '../reconcile/reconciler.ts';
import type { WorkloadState } from '../state/workload-store.ts';
import type { Clock, Timer } from '../time/clock.ts';
import { heldBecause, releaseCommand, type SourcePlan, type SourceRef, WaveGates, type WaveGatesOptions } from './gates.ts';
import { describeWave } from './plan.ts';

/** How long consumer events gather before the waves they belong to are planned again (consumerMoved). */
const WAVE_COALESCE_MS = 100;
/**
 * The gap between two coalesced rebuilds is at least this many times the last one's duration:
 * a plan reads every consumer, and at a fixed 100 ms the rebuilds of a 1,000-consumer fan-out
 * on a loaded machine took a fifth of a core in blocks of 20 ms and more, which every other
 * change's events waited behind. At 10×, rebuilds take at most a tenth of the event loop.
 */
const PLAN_TIME_FACTOR = 10;
/** ...but never more than this: one rebuild slowed by a GC pause or a starved CPU must not hold a wave for long. */
const PLAN_SPACING_MAX_MS = 1_000;

export interface WaveCoordinatorOptions extends Omit<WaveGatesOptions, 'onPlan'> {
  clock: Clock;
  log: Logger;
  dryRun: boolean;
  events?: EventSink | undefined;
  /** Told how many workloads a failed wave of one config object holds; 0 once it is no longer held. */
  waveHeld?: ((source: SourceRef, held: number) => void) | undefined;
  /** The uid of a config object, for the WaveHeld event (undefined: gone). */
  sourceUid(kind: SourceKind, source: SourceKey): string | undefined;
  workload(key: WorkloadKey): WorkloadState | undefined;
  /** Triage's entry: the workload is evaluated, and queued if it needs anything (`flow`: the cause it takes turns under). */
  enqueue(w: WorkloadState, flow: string): void;
  /** Whether the caches synced: before, the start-up resync decides and nothing is handed back. */
  synced(): boolean;
}

export class WaveCoordinator {
  readonly gates: WaveGates;
  readonly #opts: WaveCoordinatorOptions;
  /** Per shared config object: the timer that looks again when its rolling wave times out. */
  readonly #timers = new Map<string, { at: number; timer: Timer }>();
  /** Shared objects whose consumers moved since the last coalesced plan rebuild, and its timer. */
  readonly #moved = new Map<SourceKey, SourceRef>();
  #flush: Timer | undefined;
  /** How long the last coalesced rebuild of plans took (monotonic ms): it spaces the next one. */
  #lastPlansMs = 0;
  /** Per shared config object: what its pending consumers were last handed back for. */
  readonly #verdictsSaid = new Map<SourceKey, string>();
  /** While planChanged runs: the shared objects whose pending consumers were handed back. */
  #handedBack: Set<SourceKey> | undefined;
  /** Shared config objects held now, and what was said of each (said once per content and failure). */
  readonly #held = new Map<string, string>();
  /** Per shared config object: the content and wave last said to be rolling (said once each). */
  readonly #rolling = new Map<string, string>();
  #stopped = false;

  constructor(opts: WaveCoordinatorOptions) {
    this.#opts = opts;
    this.gates = new WaveGates({ ...opts, onPlan: (plan) => this.#moved_(plan) });
  }

  get enabled(): boolean {
    return this.gates.enabled;
  }

  /** Timers that may still move the waves (a rolling wave's timeout, a coalesced plan rebuild). */
  get timers(): number {
    return this.#timers.size + (this.#flush ? 1 : 0);
  }

  /**
   * A config object changed: its plan is built again now. Returns the consumers that plan
   * handed back (its pending ones), so that the caller does not evaluate them a second time.
   */
  planChanged(ref: SourceRef): ReadonlySet<string> | undefined {
    this.#handedBack = new Set();
    try {
      const plan = this.gates.plan(ref);
      return plan && this.#handedBack.has(plan.source) ? new Set<string>(plan.plan.pending) : undefined;
    } finally {
      this.#handedBack = undefined;
    }
  }

  /** A consumer's health or canary annotation changed (or it left): the waves of what it consumes may move. */
  consumerMoved(namespace: string, consumed: readonly { kind: SourceKind; name: string }[]): void {
    this.planSoon(consumed.map((c) => ({ kind: c.kind, namespace, name: c.name })));
  }

  /** Plans the waves of these config objects again, together, WAVE_COALESCE_MS from now (or later, see PLAN_TIME_FACTOR). */
  planSoon(refs: readonly SourceRef[]): void {
    if (!this.enabled || !this.#opts.synced() || this.#stopped) return;
    for (const r of refs) this.#moved.set(sourceKey(r.kind, r.namespace, r.name), r);
    if (this.#moved.size === 0) return;
    const { clock } = this.#opts;
    const spacing = Math.min(PLAN_SPACING_MAX_MS, Math.max(WAVE_COALESCE_MS, PLAN_TIME_FACTOR * this.#lastPlansMs));
    this.#flush ??= clock.after(spacing, () => {
      this.#flush = undefined;
      const moved = [...this.#moved.values()];
      this.#moved.clear();
      const started = clock.now();
      for (const ref of moved) this.gates.plan(ref, { fresh: true });
      this.#lastPlansMs = clock.now() - started;
    });
  }

  stop(): void {
    this.#stopped = true;
    for (const { timer } of this.#timers.values()) timer.cancel();
    this.#flush?.cancel();
  }

  /** A plan changed signature: hand its pending consumers back, arm its timeout, say what moved. */
  #moved_(plan: SourcePlan): void {
    const { source, plan: waves } = plan;
    const opts = this.#opts;
    // No longer shared (or gone): what was said of it goes with it.
    if (plan.signature === 'unshared') {
      this.#forget(source);
      opts.waveHeld?.(plan, 0);
      // Its consumers waited for its waves: now each rolls (or not) on its own.
      if (opts.synced()) {
        for (const key of opts.consumersOf(source)) {
          const w = opts.workload(key);
          if (w) opts.enqueue(w, source);
        }
      }
      return;
    }
    this.#sayRolling(plan);
    const heldNow = this.#sayHeld(plan);
    opts.waveHeld?.(plan, heldNow ? waves.held.length : 0);
    this.#armTimer(plan);
    if (!opts.synced()) return;
    // The consumers not rolled yet can go (or must be said held) only when the content, the
    // frontier or the failures moved; a signature that moved only by its recheck time (members
    // finishing their rollouts) changes no verdict, and re-evaluating every pending consumer on
    // each was most of a fan-out's remaining CPU.
    const verdicts = verdictsOf(plan);
    if (this.#verdictsSaid.get(source) === verdicts) return;
    this.#verdictsSaid.set(source, verdicts);
    this.#handedBack?.add(source);
    for (const key of waves.pending) {
      const w = opts.workload(key as WorkloadKey);
      if (w) opts.enqueue(w, source);
    }
  }

  #forget(source: SourceKey): void {
    this.#rolling.delete(source);
    this.#held.delete(source);
    this.#verdictsSaid.delete(source);
    this.#timers.get(source)?.timer.cancel();
    this.#timers.delete(source);
  }

  /** Says once per content and wave that a wave rolls. */
  #sayRolling(plan: SourcePlan): void {
    const { source, plan: waves } = plan;
    const rolling = `${plan.token}|${waves.frontier}`;
    if (!waves.active || waves.frontier >= waves.waves.length) {
      this.#rolling.delete(source);
      return;
    }
    if (waves.held.length > 0 || this.#rolling.get(source) === rolling) return;
    this.#rolling.set(source, rolling);
    const members = waves.waves[waves.frontier]!;
    const position = describeWave({ index: waves.frontier, of: waves.waves.length });
    this.#opts.log.info(`${this.#opts.dryRun ? 'would roll' : 'rolling'} ${position} of ${plan.display}`, {
      object: `${plan.kind}/${plan.namespace}/${plan.name}`, content: plan.token, workloads: members.slice(0, 20), count: members.length,
    });
  }

  /** Says once per content and set of failures that a change is held, and once that it no longer is; returns whether it is. */
  #sayHeld(plan: SourcePlan): boolean {
    const { source, plan: waves } = plan;
    const { log, events } = this.#opts;
    const heldNow = waves.active && waves.held.length > 0;
    const said = `${plan.token}|${waves.failing.join(',')}`;
    const object = `${plan.kind}/${plan.namespace}/${plan.name}`;
    if (heldNow && this.#held.get(source) !== said) {
      this.#held.set(source, said);
      const message = `${plan.display} change held at content ${plan.token}: ${heldBecause(waves.failing)}; `
        + `${waves.held.length} workloads not rolled until the next change of ${plan.display}, or: ${releaseCommand(plan)}`;
      log.warn('wave held', { object, content: plan.token, failing: waves.failing, held: waves.held.length, toRelease: releaseCommand(plan) });
      const uid = this.#opts.sourceUid(plan.kind, source);
      if (uid !== undefined) {
        void events?.warning({ kind: plan.kind, apiVersion: 'v1', namespace: plan.namespace, name: plan.name, uid }, 'WaveHeld', message, {
          kind: 'held', failing: waves.failing, held: waves.held.length, release: releaseCommand(plan),
        });
      }
    } else if (!heldNow && this.#held.delete(source)) {
      log.info('wave no longer held', { object, content: plan.token, released: plan.released });
    }
    return heldNow;
  }

  /** One timer per shared config object: when its rolling wave times out, the plan changes. */
  #armTimer(plan: SourcePlan): void {
    const { clock } = this.#opts;
    const at = plan.plan.recheckAt;
    const armed = this.#timers.get(plan.source);
    if (armed?.at === at) return;
    armed?.timer.cancel();
    this.#timers.delete(plan.source);
    if (at === undefined || this.#stopped) return;
    const ref = { kind: plan.kind, namespace: plan.namespace, name: plan.name };
    // Timers may fire a little early against the monotonic clock (Node's do, by up to ~2 ms): the
    // plan would not see the timeout yet, and nothing would arm the timer again.
    const fire = (): void => {
      const left = at - clock.now();
      const entry = this.#timers.get(plan.source);
      if (left > 0 && entry) {
        entry.timer = clock.after(left, fire);
        return;
      }
      this.#timers.delete(plan.source);
      this.gates.plan(ref);
    };
    this.#timers.set(plan.source, { at, timer: clock.after(Math.max(0, at - clock.now()), fire) });
  }
}

/** What the verdicts of a plan's pending consumers depend on: the content, the frontier and its members, the failures, a release. */
function verdictsOf(plan: SourcePlan): string {
  const waves = plan.plan;
  // The frontier wave's members too: a canary that leaves (deleted, opted out) makes another one.
  return `${plan.token}|${waves.active}|${waves.frontier}|${waves.failing.join(',')}|${plan.released}|${waves.waves[waves.frontier]?.join(',') ?? ''}`;
}
