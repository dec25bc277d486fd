// Proxy faults of the soak: the operator's replicas reach the apiserver only through
// testbed/fault-proxy.ts; a fault event draws one fault from this menu and holds it for 4-15 s
// (a newer fault replaces an older one, as the proxy's set() does). Checkpoints clear them.
// The hooks tell the oracle's windows (./windows.ts) when faults start — before the proxy
// applies them — and when the faults in force end. A stalled watch stays silent after its
// fault is lifted (until the operator's watchdog), so the end of a stall also cuts every open
// watch: a stall lasts as long as its fault.
import type { Fault, FaultProxy } from '../../testbed/fault-proxy.ts';
import type { Rng } from '../../test/support/rng.ts';

interface Choice {
  label: string;
  faults: Fault[];
  /** Also cut every open watch at the start (the fault cuts or stalls watches: the replicas may relist). */
  resetWatches?: boolean;
}

const MENU: Choice[] = [
  { label: '429 storm, Retry-After 1 s, half of all requests', faults: [{ kind: 'status', status: 429, share: 0.5, retryAfterSeconds: 1 }] },
  { label: '500 on half the patches', faults: [{ kind: 'status', status: 500, share: 0.5, match: { verb: 'patch' } }] },
  { label: '503 on list pages', faults: [{ kind: 'status', status: 503, share: 0.6, match: { verb: 'list' } }], resetWatches: true },
  { label: '504 on watch starts', faults: [{ kind: 'status', status: 504, share: 0.7, match: { verb: 'watch' } }], resetWatches: true },
  { label: 'every watch reset, then 20% of requests reset', faults: [{ kind: 'reset', share: 0.2 }], resetWatches: true },
  { label: 'ConfigMap watches stalled', faults: [{ kind: 'stall-watch', match: { resource: 'configmaps' } }], resetWatches: true },
  { label: 'Deployment watches stalled', faults: [{ kind: 'stall-watch', match: { resource: 'deployments' } }], resetWatches: true },
  { label: 'list bodies truncated', faults: [{ kind: 'truncate', share: 0.5, match: { verb: 'list' } }], resetWatches: true },
  { label: 'every response delayed 1.5 s', faults: [{ kind: 'delay', ms: 1500 }] },
  { label: 'patches delayed 2 s', faults: [{ kind: 'delay', ms: 2000, match: { verb: 'patch' } }] },
];

export interface InjectedFault {
  at: number;
  label: string;
  durationMs: number;
}

export interface FaultHooks {
  /** Awaited before a fault is applied; `blinding`: it cuts or stalls watches. */
  starting(blinding: boolean): Promise<void>;
  /** The faults in force ended (their time ran out, or clear()). */
  ended(): void;
}

export class FaultSchedule {
  readonly #proxy: FaultProxy;
  readonly #hooks: FaultHooks | undefined;
  readonly injected: InjectedFault[] = [];
  #timer: NodeJS.Timeout | undefined;
  #stalling = false;

  constructor(proxy: FaultProxy, hooks?: FaultHooks) {
    this.#proxy = proxy;
    this.#hooks = hooks;
  }

  /** Draws a fault and holds it for a drawn duration; returns its label. */
  async event(rng: Rng): Promise<string> {
    const choice = rng.pick(MENU);
    const durationMs = 4000 + rng.int(11_000);
    await this.#hooks?.starting(choice.resetWatches === true);
    if (this.#timer) clearTimeout(this.#timer);
    this.#proxy.set(choice.faults);
    if (choice.resetWatches) this.#proxy.resetWatches();
    this.#stalling ||= choice.faults.some((f) => f.kind === 'stall-watch');
    this.injected.push({ at: Date.now(), label: choice.label, durationMs });
    // Pacing of the workload, not synchronisation: the fault simply ends after its duration.
    this.#timer = setTimeout(() => this.#end(), durationMs);
    return `${choice.label} for ${durationMs} ms`;
  }

  clear(): void {
    this.#end();
  }

  #end(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#proxy.set([]);
    if (this.#stalling) this.#proxy.resetWatches();
    this.#stalling = false;
    this.#hooks?.ended();
  }

  byLabel(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const f of this.injected) out[f.label] = (out[f.label] ?? 0) + 1;
    return out;
  }
}
