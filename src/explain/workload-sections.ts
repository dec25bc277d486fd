// `explain`, the workload's own sections: how it opted in (its annotations, or a peer's), how
// it rolls out, and what holds its rolls (a pause, a roll window, a debounce of its own).
import { CONFIGMAPS_ANNOTATION, ENABLED_ANNOTATION, SECRETS_ANNOTATION } from '../core/annotations.ts';
import { describeInZone, nextOpening } from '../core/roll-window.ts';
import type { Decision, PeerOptIn } from '../core/types.ts';
import type { WorkloadState } from '../state/workload-store.ts';
import type { ExplainedHold, Explanation } from './schema.ts';

export function holdOf(state: WorkloadState, decision: Decision, now: number): ExplainedHold | null {
  const hold = state.optIn.kind === 'in' ? state.optIn.hold : undefined;
  if (hold === undefined) return null;
  const w = hold.window;
  const opens = w === undefined ? undefined : nextOpening(w, now);
  return {
    paused: hold.paused === true,
    window: w === undefined ? null : {
      text: w.text, zone: w.zone, open: opens === now,
      nextOpening: opens === undefined ? null : new Date(opens).toISOString(),
      nextOpeningLocal: opens === undefined ? null : describeInZone(w.zone, opens),
    },
    debounceMs: hold.debounceMs ?? null,
    held: decision.code === 'paused' || decision.code === 'outside_window',
    heldUntil: decision.until === undefined ? null : new Date(decision.until).toISOString(),
  };
}

export function optInOf(state: WorkloadState, annotations: Record<string, string>): Explanation['optIn'] {
  const raw = {
    enabled: annotations[ENABLED_ANNOTATION] ?? null,
    configmaps: annotations[CONFIGMAPS_ANNOTATION] ?? null,
    secrets: annotations[SECRETS_ANNOTATION] ?? null,
  };
  const optIn = state.optIn;
  if (optIn.kind === 'out') {
    return {
      state: 'out', annotations: raw, referenced: false, namedConfigMaps: [], namedSecrets: [], malformed: null,
      summary: `not opted in: set ${ENABLED_ANNOTATION}: "true", or name objects in ${CONFIGMAPS_ANNOTATION} / ${SECRETS_ANNOTATION}, on the workload's metadata`,
    };
  }
  if (optIn.kind === 'malformed') {
    return {
      state: 'malformed', annotations: raw, referenced: false, namedConfigMaps: [], namedSecrets: [],
      malformed: { annotation: optIn.annotation, value: optIn.value, problem: optIn.reason },
      summary: `annotation ${optIn.annotation} is malformed (${optIn.reason}): the operator leaves the workload alone until it is fixed`,
    };
  }
  const named = [
    ...(optIn.extraConfigMaps.length > 0 ? [`ConfigMaps named by ${CONFIGMAPS_ANNOTATION}`] : []),
    ...(optIn.extraSecrets.length > 0 ? [`Secrets named by ${SECRETS_ANNOTATION}`] : []),
  ];
  const what = [
    ...(optIn.referenced ? ['every ConfigMap and Secret the pod template references'] : []),
    ...named,
  ].join(', and ');
  const base = { state: 'in' as const, annotations: raw, referenced: optIn.referenced, namedConfigMaps: [...optIn.extraConfigMaps], namedSecrets: [...optIn.extraSecrets], malformed: null };
  if (optIn.peer !== undefined) return { ...base, summary: peerSummary(optIn.peer, optIn.extraConfigMaps, optIn.extraSecrets) };
  return { ...base, summary: `opted in: the digest covers ${what}${optIn.referenced ? '' : ' (only those: not the pod template\'s references)'}` };
}

/** A workload opted in by a peer's annotations (--accept-annotations): what they were read as. */
export function peerSummary(peer: PeerOptIn, configMaps: readonly string[], secrets: readonly string[]): string {
  const covers = (['ConfigMap', 'Secret'] as const).flatMap((kind) => {
    const follow = peer.follow[kind];
    const excluded = peer.excluded[kind].length > 0 ? ` but ${peer.excluded[kind].join(', ')}` : '';
    return follow === 'all' ? [`every ${kind} the pod template references${excluded}`]
      : follow === 'matched' ? [`the ${kind}s the pod template references that carry reloader.stakater.com/match: "true"${excluded}`] : [];
  });
  if (configMaps.length > 0) covers.push(`ConfigMaps ${configMaps.join(', ')}`);
  if (secrets.length > 0) covers.push(`Secrets ${secrets.join(', ')}`);
  const notes = peer.notes.length > 0 ? `; not honoured exactly: ${peer.notes.join('; ')}` : '';
  return `opted in by ${peer.from.join(' and ')} annotations (--accept-annotations): the digest covers ${covers.join(', and ')}${notes}`;
}

export function rolloutOf(state: WorkloadState): string {
  if (state.rollout.onDelete) return 'OnDelete';
  return state.rollout.partition > 0 ? `RollingUpdate, partition ${state.rollout.partition}` : 'RollingUpdate';
}
