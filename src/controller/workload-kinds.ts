// Which custom workload kinds of --workload-kinds can be watched (src/core/kinds.ts): discovery
// at start, then every KIND_RECHECK_MS for those still absent. A kind whose CRD is not
// installed is turned off with one line and `config_reload_workload_kind_available{kind} 0`,
// and its watches are opened (`appeared`) once discovery shows it: its workloads are then a
// first list, adopted and never rolled for being seen (docs/workload-kinds.md). A kind found
// stays on: a CRD deleted later makes its watch fail and retry, as any other watch.
import type { Logger } from 'winston';
import { kindSpec, type WorkloadKind } from '../core/kinds.ts';
import { describeError } from '../kube/api-error.ts';
import type { DiscoveryApi } from '../kube/cluster-api.ts';
import { type Clock, every, type Timer } from '../time/clock.ts';
import { SaidOnce } from '../time/said-once.ts';
import type { ControllerObserver } from './observer.ts';

/** Two discovery GETs per absent kind a minute: nothing, against a CRD installed after the operator. */
export const KIND_RECHECK_MS = 60_000;

export interface KindDiscoveryOptions {
  /** Absent: every custom kind counts as not installed (said once). */
  discovery: DiscoveryApi | undefined;
  kinds: readonly WorkloadKind[];
  clock: Clock;
  log: Logger;
  observer?: ControllerObserver | undefined;
  /** A custom kind not installed at start was found: open its watches. */
  appeared(kind: WorkloadKind): void;
}

export class KindDiscovery {
  readonly #opts: KindDiscoveryOptions;
  readonly #absent = new Set<WorkloadKind>();
  /** What was said of each absent kind (said again only when it changes). */
  readonly #said = new SaidOnce<WorkloadKind>();
  #timer: Timer | undefined;
  #checking = false;
  #stopped = false;

  constructor(opts: KindDiscoveryOptions) {
    this.#opts = opts;
  }

  /** The kinds to watch now: the built-in ones, and the custom ones discovery shows; re-checks the rest from then on. */
  async start(): Promise<WorkloadKind[]> {
    const available: WorkloadKind[] = [];
    for (const kind of this.#opts.kinds) {
      if (kindSpec(kind).builtIn || (await this.#check(kind))) {
        available.push(kind);
        this.#opts.observer?.workloadKindAvailable?.(kindSpec(kind).flag, true);
      } else this.#absent.add(kind);
    }
    if (this.#absent.size > 0 && !this.#stopped) this.#timer = every(this.#opts.clock, KIND_RECHECK_MS, () => void this.#recheck());
    return available;
  }

  /** Custom kinds of --workload-kinds not installed (yet). */
  get absent(): WorkloadKind[] {
    return [...this.#absent];
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
  }

  async #recheck(): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    try {
      for (const kind of [...this.#absent]) {
        if (this.#stopped || !(await this.#check(kind))) continue;
        this.#absent.delete(kind);
        this.#said.forget(kind);
        this.#opts.observer?.workloadKindAvailable?.(kindSpec(kind).flag, true);
        this.#opts.log.info(`workload kind ${kindSpec(kind).flag} is installed now: watching it`, { kind: kindSpec(kind).kind });
        this.#opts.appeared(kind);
      }
      if (this.#absent.size === 0) this.#timer?.cancel();
    } finally {
      this.#checking = false;
    }
  }

  /** Whether the group serves the kind's version (src/core/kinds.ts); says why not, once. */
  async #check(kind: WorkloadKind): Promise<boolean> {
    const spec = kindSpec(kind);
    let why: string;
    try {
      const versions = this.#opts.discovery ? await this.#opts.discovery.servedVersions(spec.group, spec.plural) : [];
      if (versions.includes(spec.version)) return true;
      why = versions.length === 0
        ? `its CRD is not installed (${spec.group}/${spec.version} serves no ${spec.plural})`
        : `${spec.group} serves ${spec.plural} at ${versions.join(', ')} only; the operator reads ${spec.version}`;
    } catch (err) {
      why = `discovery failed: ${describeError(err)}`;
    }
    this.#opts.observer?.workloadKindAvailable?.(spec.flag, false);
    if (this.#said.first(kind, why)) {
      this.#opts.log.warn(`workload kind ${spec.flag} is turned off: ${why}; checked again every ${KIND_RECHECK_MS / 1000}s`, {
        kind: spec.kind, toTurnOff: '--workload-kinds',
      });
    }
    return false;
  }
}
