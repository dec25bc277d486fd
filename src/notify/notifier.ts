// Notifications (docs/notifications.md), wired onto the Events the operator already records: the
// tee returned by tap() hands each Event's facts to the aggregator, which says when a message is
// due; each message is rendered per webhook and queued on that webhook's sender. Only the
// replica that leads notifies (the one that rolls). Nothing here can fail or delay what the
// Event was recorded for: the aggregator only gathers, a sender only appends.
import type { Logger } from 'winston';
import type { NotifyTarget } from '../config/notify-targets.ts';
import type { EventFacts, InvolvedObject } from '../core/types.ts';
import type { EventSink } from '../reconcile/reconciler.ts';
import type { Clock } from '../time/clock.ts';
import { Aggregator, type AggregatorOptions } from './aggregator.ts';
import { render } from './formats.ts';
import type { Notification } from './notification.ts';
import { type SenderOptions, TargetSender } from './sender.ts';

export interface NotifierOptions extends Omit<SenderOptions, 'clock' | 'log'> {
  targets: readonly NotifyTarget[];
  clock: Clock;
  log: Logger;
  /** The operator's version, in the generic JSON. */
  version: string;
  /** Whether this replica leads now (without leader election: always). */
  leading: () => boolean;
  aggregation?: Pick<AggregatorOptions, 'quietMs' | 'maxGatherMs'>;
}

export class Notifier {
  readonly #opts: NotifierOptions;
  readonly #aggregator: Aggregator;
  readonly #senders: TargetSender[];

  constructor(opts: NotifierOptions) {
    this.#opts = opts;
    this.#senders = opts.targets.map((t) => new TargetSender(t, { ...opts }));
    this.#aggregator = new Aggregator({ clock: opts.clock, emit: (n) => this.#send(n), ...opts.aggregation });
  }

  /** `events`, also telling this notifier of each Event's facts. */
  tap(events: EventSink): EventSink {
    return {
      normal: (target, reason, message, facts) => {
        this.#observe(target, facts);
        return events.normal(target, reason, message, facts);
      },
      warning: (target, reason, message, facts) => {
        this.#observe(target, facts);
        return events.warning(target, reason, message, facts);
      },
    };
  }

  /** Sends what is gathering now, and gives the webhooks `graceMs` to take it (shutdown). */
  async stop(graceMs: number): Promise<void> {
    this.#aggregator.flush();
    await Promise.all(this.#senders.map((s) => s.stop(graceMs)));
  }

  #observe(target: InvolvedObject, facts: EventFacts | undefined): void {
    if (facts === undefined || !this.#opts.leading()) return;
    try {
      this.#aggregator.observe(target, facts);
    } catch (err) {
      // A bug here must not reach the roll that recorded the Event.
      this.#opts.log.error('notification not gathered', { error: err instanceof Error ? err.message : String(err) });
    }
  }

  #send(n: Notification): void {
    for (const sender of this.#senders) {
      try {
        sender.enqueue(JSON.stringify(render(sender.format, n, { version: this.#opts.version })));
      } catch (err) {
        this.#opts.log.error('notification not rendered', { error: err instanceof Error ? err.message : String(err) });
      }
    }
  }
}
