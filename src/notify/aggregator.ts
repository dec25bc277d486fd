// Turns Events' facts into notifications (docs/notifications.md, "When a message is sent"), on
// the injected clock:
// - rolls are gathered per config object (and wave) in a namespace: one message once no further
//   roll for it came for QUIET_MS, or MAX_GATHER_MS after its first — a fan-out of 1,000
//   consumers is one message listing them, not 1,000;
// - a held wave is one message as it is said (the coordinator says it once per content and
//   failures);
// - a refused roll is one message per workload and change: the reconciler retries it every
//   minute, and each retry's Event is a repeat, not news (a refused adoption changes no pods: none).
import type { EventFacts } from '../core/types.ts';
import type { Clock, Timer } from '../time/clock.ts';
import { SaidOnce } from '../time/said-once.ts';
import { MAX_LISTED, type Notification, type ObjectRef, objectOf, workloadOf } from './notification.ts';

/** A gap this long with no roll for an object ends its message: rolls of one fan-out come far closer. */
export const QUIET_MS = 5_000;
/** A message waits at most this long after its first roll, however long the fan-out takes. */
export const MAX_GATHER_MS = 300_000;
/** Messages gathering at once; past this the oldest is sent early. */
const MAX_OPEN = 1000;

/** What an Event is about: its involved object. */
export interface EventTarget {
  kind: string;
  namespace: string;
  name: string;
  uid: string;
}

export interface AggregatorOptions {
  clock: Clock;
  emit(n: Notification): void;
  quietMs?: number;
  maxGatherMs?: number;
}

interface Gathering {
  namespace: string;
  object: ObjectRef | undefined;
  wave: string | undefined;
  firstAt: number;
  lastAt: number;
  startedAtWall: number;
  /** Every workload rolled ("Kind/name"): each is listed and counted once. */
  seen: Set<string>;
  workloads: ObjectRef[];
  timer: Timer | undefined;
}

export class Aggregator {
  readonly #opts: AggregatorOptions;
  readonly #quietMs: number;
  readonly #maxMs: number;
  /** Open messages, in the order they opened. */
  readonly #open = new Map<string, Gathering>();
  /** Refused writes already said: workload uid and the change refused. */
  readonly #refused = new SaidOnce();

  constructor(opts: AggregatorOptions) {
    this.#opts = opts;
    this.#quietMs = opts.quietMs ?? QUIET_MS;
    this.#maxMs = opts.maxGatherMs ?? MAX_GATHER_MS;
  }

  /** Messages gathering now. */
  get open(): number {
    return this.#open.size;
  }

  /** One Event's facts about `target`. */
  observe(target: EventTarget, facts: EventFacts): void {
    const at = this.#opts.clock.wallNow();
    switch (facts.kind) {
      case 'rolled': {
        const workload = { kind: target.kind, namespace: target.namespace, name: target.name };
        // A roll for several objects is news of each; one the operator cannot attribute is news of the namespace.
        const objects = facts.changed.length > 0 ? facts.changed.map((c) => objectOf(c, target.namespace)) : [undefined];
        for (const object of objects) this.#gather(workload, object, facts.wave?.position);
        return;
      }
      case 'held':
        this.#opts.emit({
          type: 'wave_held', at, object: { kind: target.kind, namespace: target.namespace, name: target.name },
          failing: facts.failing.map(workloadOf).filter((w) => w !== undefined), heldCount: facts.held, releaseCommand: facts.release,
        });
        return;
      case 'refused': {
        // A refused adoption leaves the pods as they are; a refused roll leaves a change not rolled out.
        if (facts.action !== 'roll') return;
        if (!this.#refused.first(`${target.uid}|${facts.change}`)) return;
        this.#opts.emit({
          type: 'write_refused', at, workload: { kind: target.kind, namespace: target.namespace, name: target.name },
          status: facts.status,
          objects: facts.changed.map((c) => objectOf(c, target.namespace)).filter((o) => o !== undefined),
        });
        return;
      }
    }
  }

  /** Sends every gathering message now (shutdown). */
  flush(): void {
    for (const key of [...this.#open.keys()]) this.#send(key);
  }

  #gather(workload: ObjectRef, object: ObjectRef | undefined, wave: string | undefined): void {
    const { clock } = this.#opts;
    const now = clock.now();
    const key = `${workload.namespace}|${object ? `${object.kind}/${object.name}` : ''}|${wave ?? ''}`;
    let g = this.#open.get(key);
    if (g === undefined) {
      if (this.#open.size >= MAX_OPEN) this.#send(this.#open.keys().next().value as string);
      g = { namespace: workload.namespace, object, wave, firstAt: now, lastAt: now, startedAtWall: clock.wallNow(), seen: new Set(), workloads: [], timer: undefined };
      this.#open.set(key, g);
      this.#arm(key, g, this.#quietMs);
    }
    g.lastAt = now;
    const id = `${workload.kind}/${workload.name}`;
    if (g.seen.has(id)) return;
    g.seen.add(id);
    if (g.workloads.length < MAX_LISTED) g.workloads.push(workload);
  }

  /** One timer per message: when it fires early (rolls kept coming), it is armed again for what is left. */
  #arm(key: string, g: Gathering, ms: number): void {
    g.timer = this.#opts.clock.after(ms, () => {
      const now = this.#opts.clock.now();
      const due = Math.min(g.lastAt + this.#quietMs, g.firstAt + this.#maxMs);
      if (due > now) this.#arm(key, g, due - now);
      else this.#send(key);
    });
  }

  #send(key: string): void {
    const g = this.#open.get(key);
    if (g === undefined) return;
    this.#open.delete(key);
    g.timer?.cancel();
    this.#opts.emit({
      type: 'rolled', at: g.startedAtWall, namespace: g.namespace, object: g.object, wave: g.wave, workloads: g.workloads, workloadCount: g.seen.size,
    });
  }
}
