// What the operator would do for one workload now, from state alone: the desired digest over
// the current config objects, what is missing or cannot be watched, the order of template and
// configuration changes — handed to the pure decision chain. The operator's reconciler and
// the `explain` command both call this, so the two cannot disagree.
import type { TemplateOrder } from '../config.ts';
import { decide, type DecisionInput } from '../core/decide.ts';
import { type DigestKey, workloadDigest } from '../core/digest.ts';
import { sourceKey } from '../core/keys.ts';
import { maxVersion, templateCarriesConfig } from '../core/ordering.ts';
import type { Decision, SourceContent, SourceKind } from '../core/types.ts';
import type { SourceStore } from '../state/source-store.ts';
import { effectiveRecordedDigest, type WorkloadState } from '../state/workload-store.ts';

/** The config objects the decisions read: one store per kind watched, and whether it is usable now. */
export interface SourceView {
  store(kind: SourceKind): SourceStore | undefined;
  /** False while the kind is watched but cannot be (its watch is forbidden). */
  available(kind: SourceKind): boolean;
}

export interface EvaluationContext {
  sources: SourceView;
  digestKey: DigestKey;
  /** Monotonic now, for the expiry of a pending write. */
  now: number;
  templateOrder: TemplateOrder;
  /** The waves of shared config objects (src/reconcile/waves.ts); absent: every roll goes at once. */
  waves?: WaveGate | undefined;
}

/** Gates a roll by the waves of the shared config objects it rolls for (docs/architecture.md, "Waves"). */
export interface WaveGate {
  gate(w: WorkloadState, decision: Decision): Decision;
}

export function evaluateWorkload(w: WorkloadState, ctx: EvaluationContext): Decision {
  const decision = decide(decisionInput(w, ctx));
  return ctx.waves ? ctx.waves.gate(w, decision) : decision;
}

/**
 * The last desired digest of each workload entry, with the contents it was computed from. A
 * change of a ConfigMap read by N workloads evaluates each of them several times in one
 * synchronous pass (the change's fan-out, the waves' plan, the verdicts when a wave moves): each
 * workload is hashed once per content. Entries and contents are immutable values that their
 * stores replace on any change (an unchanged content keeps its object), so identity is the key;
 * the weak map lets a replaced entry's digest go with it.
 */
const lastDigest = new WeakMap<WorkloadState, { key: DigestKey; contents: ReadonlyArray<SourceContent | undefined>; digest: string }>();

function desiredDigestOf(w: WorkloadState, contents: ReadonlyArray<SourceContent | undefined>, key: DigestKey): string {
  const last = lastDigest.get(w);
  if (last && last.key === key && last.contents.every((c, i) => c === contents[i])) return last.digest;
  const byName = (kind: SourceKind, name: string) => contents[w.consumed.findIndex((c) => c.kind === kind && c.name === name)];
  const digest = workloadDigest(w.consumed, byName, key);
  lastDigest.set(w, { key, contents, digest });
  return digest;
}

/** What the decision chain reads for one workload (explain also shows the desired digest). */
export function decisionInput(w: WorkloadState, ctx: EvaluationContext): DecisionInput {
  const { sources, digestKey } = ctx;
  const key = (kind: SourceKind, name: string) => sourceKey(kind, w.namespace, name);
  const content = (kind: SourceKind, name: string) => sources.store(kind)?.content(key(kind, name));
  const desiredDigest = desiredDigestOf(w, w.consumed.map((c) => content(c.kind, c.name)), digestKey);
  const missingRequired = w.consumed
    .filter((c) => !c.optional && sources.store(c.kind)?.has(key(c.kind, c.name)) !== true)
    .map((c) => ({ kind: c.kind, name: c.name }));
  const unavailable = [...new Set(w.consumed.map((c) => c.kind))].filter((kind) => !sources.available(kind));
  // Per key the workload reads: a change to another key of the same object is not one its pods see.
  const configAtMost = maxVersion(w.consumed.map((c) => sources.store(c.kind)?.lastContentChange(key(c.kind, c.name), c.keys)));
  return {
    optIn: w.optIn,
    recordedDigest: effectiveRecordedDigest(w, ctx.now),
    desiredDigest,
    keyId: digestKey.id,
    unavailable,
    missingRequired,
    changed: [...w.changed],
    firstSeenDigest: w.firstSeenDigest,
    // Between two changes: written after the first change since the record (undated: maybe).
    templateChangedSinceRecord: w.templateSinceRecord
      && (w.templateWrittenAtLeast === undefined || w.changedSince === undefined || w.templateWrittenAtLeast > w.changedSince),
    templateCarriesConfig: ctx.templateOrder === 'resource-version' && templateCarriesConfig(w.templateWrittenAtLeast, configAtMost),
  };
}
