// The scenarios, one file each over the harness of bench/lib/ (a control plane of its own per
// scenario, the operator, the baseline watcher, the peers). run.ts turns the command line into
// specs; each scenario's result is written as <out>/<scenario>.json and rendered by bench/report/.
import type { Ctx } from '../lib/context.ts';
import { type BurstKResult, type BurstKSpec, runBurstK } from './burst-k.ts';
import { runShared, type SharedResult, type SharedSpec } from './burst-shared.ts';
import { type FanOutSpec, runFanOut } from './fan-out.ts';
import { type HelmResult, type HelmSpec, runHelm } from './helm-secrets.ts';
import { type MassAdoptionSpec, runMassAdoption } from './mass-adoption.ts';
import { runScale, type ScaleResult, type ScaleSpec } from './scale.ts';
import { runScoping, type ScopingResult, type ScopingSpec } from './scoping.ts';
import { runWaves, type WavesResult, type WavesSpec } from './waves.ts';
import type { ContentionResult } from '../lib/contention.ts';

/** scale (also scale-secrets and size), helm-secrets, burst-k, burst-shared, waves, scoping. */
export type ScenarioSpec = ScaleSpec | HelmSpec | BurstKSpec | SharedSpec | WavesSpec | ScopingSpec;
/** Changes while the system is busy: mass-adoption, fan-out (with the peers side by side). */
export type ContentionSpec = MassAdoptionSpec | FanOutSpec;

export type ScenarioResult = ScaleResult | BurstKResult | SharedResult | HelmResult | ScopingResult | ContentionResult | WavesResult;

export async function runScenario(ctx: Ctx, spec: ScenarioSpec | ContentionSpec): Promise<ScenarioResult> {
  switch (spec.kind) {
    case 'scale': return runScale(ctx, spec);
    case 'burst-k': return runBurstK(ctx, spec);
    case 'burst-shared': return runShared(ctx, spec);
    case 'waves': return runWaves(ctx, spec);
    case 'helm-secrets': return runHelm(ctx, spec);
    case 'scoping': return runScoping(ctx, spec);
    case 'mass-adoption': return runMassAdoption(ctx, spec);
    case 'fan-out': return runFanOut(ctx, spec);
  }
}
