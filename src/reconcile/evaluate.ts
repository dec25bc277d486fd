// What the operator would do for one workload now, from state alone: the desired digest over
// the current config objects, what is missing or cannot be watched, and what the pods run per
// consumed object (src/reconcile/pods.ts) — handed to the pure decision chain. The operator's
// reconciler and the `explain` command both call this, so the two cannot disagree.
import { decide, type DecisionInput } from '../core/decide.ts';
import { holdRoll } from '../core/hold.ts';
import { type DigestKey, digestFormat, digestKeyId, DIGEST_FORMAT } from '../core/digest.ts';
import { sourceKey } from '../core/keys.ts';
import type { TemplateOrder } from '../core/ordering.ts';
import type { Decision, SourceKind } from '../core/types.ts';
import type { SourceStore } from '../state/source-store.ts';
import { recordView, type WorkloadState } from '../state/workload-store.ts';
import { UNKNOWN_PART } from '../core/record.ts';
import type { DigestMemo } from './digest-memo.ts';
import { consumedParts } from './pods.ts';

/** The config objects the decisions read: one store per kind watched, and whether it is usable now. */
export interface SourceView {
  store(kind: SourceKind): SourceStore | undefined;
  /** False while the kind is watched but cannot be (its watch is forbidden). */
  available(kind: SourceKind): boolean;
}

export interface EvaluationContext {
  sources: SourceView;
  digestKey: DigestKey;
  /** The digests already computed (one memo per controller; explain's one read brings its own). */
  memo: DigestMemo;
  /** Monotonic now, for the expiry of a pending write. */
  now: number;
  templateOrder: TemplateOrder;
  /** The waves of shared config objects (src/waves/gates.ts); absent: every roll goes at once. */
  waves?: WaveGate | undefined;
  /** Workloads that waited long enough for a watch to catch up: their views are read as they are. */
  caughtUp?: ((w: WorkloadState) => boolean) | undefined;
  /** Wall-clock milliseconds since the epoch, for roll windows; absent: the host's clock. */
  wallNow?: number | undefined;
}

/** Gates a roll by the waves of the shared config objects it rolls for (docs/architecture.md, "Waves"). */
export interface WaveGate {
  gate(w: WorkloadState, decision: Decision): Decision;
}

export function evaluateWorkload(w: WorkloadState, ctx: EvaluationContext): Decision {
  const decision = decide(decisionInput(w, ctx));
  const gated = ctx.waves ? ctx.waves.gate(w, decision) : decision;
  // Last, after the waves: a paused member has not rolled, so the waves behind it wait for it
  // (the waves read the decision before the hold).
  const hold = w.optIn.kind === 'in' ? w.optIn.hold : undefined;
  return holdRoll(gated, { hold, pausedSince: w.pausedSince, wallNow: ctx.wallNow ?? Date.now() });
}

/** What the decision chain reads for one workload (explain also shows the desired digest). */
export function decisionInput(w: WorkloadState, ctx: EvaluationContext): DecisionInput {
  const { sources, digestKey } = ctx;
  const key = (kind: SourceKind, name: string) => sourceKey(kind, w.namespace, name);
  const content = (kind: SourceKind, name: string) => sources.store(kind)?.content(key(kind, name));
  const desiredDigest = ctx.memo.desiredDigest(w, w.consumed.map((c) => content(c.kind, c.name)), digestKey);
  const missingRequired = w.consumed
    .filter((c) => !c.optional && sources.store(c.kind)?.has(key(c.kind, c.name)) !== true)
    .map((c) => ({ kind: c.kind, name: c.name }));
  const unavailable = [...new Set(w.consumed.map((c) => c.kind))].filter((kind) => !sources.available(kind));
  const overBudget = w.consumed.flatMap((c) => {
    const over = content(c.kind, c.name)?.overBudget;
    return over === undefined ? [] : [{ kind: c.kind, name: c.name, ...over }];
  });
  const view = recordView(w, ctx.now);
  // A record is compared only with a digest of this format and key, written with it.
  const comparable = view.recordedDigest !== undefined && digestFormat(view.recordedDigest) === DIGEST_FORMAT
    && digestKeyId(view.recordedDigest) === digestKey.id;
  const record = comparable ? view.record : undefined;
  const ordered = ctx.templateOrder === 'resource-version';
  const parts = consumedParts({ w, view, record, sources, key: digestKey, memo: ctx.memo, ordered, assumeCaughtUp: ctx.caughtUp?.(w) ?? false });
  // Unordered, a template write by someone else tells nothing (src/reconcile/pods.ts): the record
  // is not refreshed for it. Ordered, it is, so that a restart finds the record current.
  const templateMoved = ordered && record !== undefined && record.template !== view.template;
  // What a re-record would write is what is recorded (an ignored object not known: UNKNOWN_PART).
  const recordCurrent = record !== undefined && !templateMoved
    && parts.every((p) => (p.running ?? (p.ignored ? UNKNOWN_PART : undefined)) === record.parts.get(p.id))
    // The digest beside it says the same (a hand edit of it is put back), unless an ignored
    // object's difference is why they differ.
    && (view.recordedDigest === desiredDigest || parts.some((p) => p.ignored && p.running !== p.current));
  return {
    optIn: w.optIn,
    recordedDigest: view.recordedDigest,
    desiredDigest,
    keyId: digestKey.id,
    unavailable,
    overBudget,
    missingRequired,
    parts: parts.map((p) => ({ kind: p.kind, name: p.name, id: p.id, current: p.current, running: p.running, ignored: p.ignored, behind: p.behind })),
    hasRecord: record !== undefined,
    recordCurrent,
    templateMoved,
  };
}
