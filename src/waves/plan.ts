// Waves (docs/architecture.md, "Waves"): a change of one config object consumed by more
// workloads than a threshold rolls a canary wave first, then the rest in waves, each only once
// every earlier wave runs the current content and is healthy. Pure: the consumers' state in,
// a plan out. Nothing here remembers anything — the plan is derived from what the cluster
// shows (recorded digests and status) every time, so a restarted operator resumes it.
import { createHash } from 'node:crypto';
import type { Health } from '../core/health.ts';

export interface WaveConsumer {
  /** The workload key (unique). */
  key: string;
  /** The stable order: consumers are sorted by this (namespace/name, then kind). */
  order: string;
  /** Annotated config-reload.dev/canary: "true". */
  canary: boolean;
  /** Runs the current content already (its recorded digest is the desired one): nothing to roll. */
  upToDate: boolean;
  health: Health;
  /** Monotonic time since which it has been progressing (for the wave timeout). */
  progressingSince?: number | undefined;
}

export interface WaveSettings {
  /** More consumers than this roll in waves; 0 turns waves off. */
  threshold: number;
  /** Canaries when none is annotated. */
  canarySize: number;
  /** Waves after the canary wave. */
  waves: number;
  /** A wave not healthy this long after its roll has failed. */
  timeoutMs: number;
}

export type WaveVerdict =
  /** Roll now (or nothing to gate: up to date, or not rolling in waves). */
  | { gate: 'go'; wave?: WavePosition }
  /** Not yet: an earlier wave is still rolling. `recheckAt`: when that wave times out. */
  | { gate: 'wait'; wave: WavePosition; waitingFor: number; recheckAt?: number }
  /** Not until a new content or a release: a wave up to here failed. */
  | { gate: 'held'; wave: WavePosition; failing: string[] };

/** Wave `index` (0 = the canaries) of `of` waves in all. */
export interface WavePosition {
  index: number;
  of: number;
}

export interface WavePlan {
  /** False when the change is not rolled in waves (few consumers, waves off, or released). */
  active: boolean;
  /** The keys of each wave, canaries first, in the stable order. */
  waves: string[][];
  /** The first wave that is not complete (every member up to date and healthy); waves.length when all are. */
  frontier: number;
  /** The failed up-to-date consumers (failed, or progressing past the timeout) that hold the change. */
  failing: string[];
  /** Consumers not up to date whose verdict is held (empty unless failing is not). */
  held: string[];
  /** Consumers not up to date (they roll once the gate lets them). */
  pending: string[];
  /** The earliest moment a progressing wave member times out: the plan changes then. */
  recheckAt: number | undefined;
  verdict(key: string): WaveVerdict;
}

const GO: WaveVerdict = Object.freeze({ gate: 'go' });

/** The stable order of consumers: by `order`, then by key. */
export function byOrder(a: WaveConsumer, b: WaveConsumer): number {
  return a.order < b.order ? -1 : a.order > b.order ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** The waves: annotated canaries (else the first `canarySize`), then the rest in `waves` waves of equal size. */
export function assignWaves(consumers: readonly WaveConsumer[], canarySize: number, waves: number): WaveConsumer[][] {
  const sorted = [...consumers].sort(byOrder);
  const annotated = sorted.filter((c) => c.canary);
  const canaries = annotated.length > 0 ? annotated : sorted.slice(0, Math.max(1, canarySize));
  const chosen = new Set(canaries);
  const rest = sorted.filter((c) => !chosen.has(c));
  const out: WaveConsumer[][] = [canaries];
  const count = Math.max(1, Math.min(waves, rest.length));
  const size = Math.ceil(rest.length / count);
  for (let i = 0; i < rest.length; i += size) out.push(rest.slice(i, i + size));
  return out;
}

/**
 * The plan for one config object's consumers now. `released`: someone annotated the object to
 * roll the rest of this content anyway.
 */
export function planWaves(consumers: readonly WaveConsumer[], settings: WaveSettings, now: number, released: boolean): WavePlan {
  if (settings.threshold <= 0 || consumers.length <= settings.threshold || released) return inactive(consumers);
  const waves = assignWaves(consumers, settings.canarySize, settings.waves);
  const of = waves.length;
  const timedOut = (c: WaveConsumer) => c.health === 'progressing' && c.progressingSince !== undefined
    && now - c.progressingSince >= settings.timeoutMs;
  const failed = (c: WaveConsumer) => c.upToDate && (c.health === 'failed' || timedOut(c));
  const complete = (c: WaveConsumer) => c.upToDate && c.health === 'healthy';

  const position = new Map<string, number>();
  // Per wave: its failed members, whether it is complete, when its first progressing member times out.
  const failedIn: string[][] = [];
  const completeAt: boolean[] = [];
  const timeoutAt: Array<number | undefined> = [];
  let recheckAt: number | undefined;
  waves.forEach((wave, i) => {
    const f: string[] = [];
    let all = true;
    let t: number | undefined;
    for (const c of wave) {
      position.set(c.key, i);
      if (failed(c)) f.push(c.key);
      if (!complete(c)) all = false;
      if (c.upToDate && c.health === 'progressing' && c.progressingSince !== undefined && !timedOut(c)) {
        const at = c.progressingSince + settings.timeoutMs;
        t = t === undefined ? at : Math.min(t, at);
      }
    }
    failedIn.push(f);
    completeAt.push(all);
    timeoutAt.push(t);
    if (t !== undefined) recheckAt = recheckAt === undefined ? t : Math.min(recheckAt, t);
  });
  let frontier = completeAt.indexOf(false);
  if (frontier === -1) frontier = of;
  // A failure holds every consumer not rolled yet in its wave and in every later one.
  const firstFailure = failedIn.findIndex((f) => f.length > 0);
  const failing = failedIn.flat();
  const byKey = new Map(consumers.map((c) => [c.key, c]));

  const verdicts = new Map<string, WaveVerdict>();
  const held: string[] = [];
  const pending: string[] = [];
  for (const c of consumers) {
    if (c.upToDate) continue;
    pending.push(c.key);
    const index = position.get(c.key)!;
    const wave = { index, of };
    if (firstFailure !== -1 && firstFailure <= index) {
      held.push(c.key);
      verdicts.set(c.key, { gate: 'held', wave, failing: failedIn.slice(0, index + 1).flat() });
    } else if (frontier < index) {
      const until = timeoutAt.slice(0, index).filter((t): t is number => t !== undefined);
      verdicts.set(c.key, { gate: 'wait', wave, waitingFor: frontier, ...(until.length > 0 ? { recheckAt: Math.min(...until) } : {}) });
    } else {
      verdicts.set(c.key, { gate: 'go', wave });
    }
  }
  return {
    active: true,
    waves: waves.map((w) => w.map((c) => c.key)),
    frontier,
    failing,
    held,
    pending,
    recheckAt,
    verdict: (key) => verdicts.get(key) ?? (byKey.has(key) ? { gate: 'go', wave: { index: position.get(key)!, of } } : GO),
  };
}

function inactive(consumers: readonly WaveConsumer[]): WavePlan {
  return {
    active: false, waves: [], frontier: 0, failing: [], held: [], recheckAt: undefined,
    pending: consumers.filter((c) => !c.upToDate).map((c) => c.key),
    verdict: () => GO,
  };
}

/** "wave 2/3", "canary wave 1/3": waves counted from 1 for people. */
export function describeWave(wave: WavePosition): string {
  return `${wave.index === 0 ? 'canary wave' : 'wave'} ${wave.index + 1}/${wave.of}`;
}

/**
 * A short id of one content of a config object, for the release annotation and the messages
 * that print it: 12 hex of a hash of its keyed per-key digests (HMACs under the installation's
 * key, src/core/digest.ts — nothing of the values). Absent content has a token too.
 */
export function contentToken(keyDigests: ReadonlyMap<string, string> | undefined): string {
  const hash = createHash('sha256');
  if (keyDigests === undefined) hash.update('absent');
  else for (const k of [...keyDigests.keys()].sort()) hash.update(`${k}=${keyDigests.get(k)}\n`);
  return hash.digest('hex').slice(0, 12);
}
