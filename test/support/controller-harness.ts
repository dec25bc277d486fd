// The controller tests' harness: the real Controller (reflectors, stores, index, queue,
// reconciler) against the in-memory API (./fake-cluster.ts) on a virtual clock
// (./virtual-clock.ts), with the settings the tests start from, the Events and waveHeld reports
// its controllers make, and the operator's writes as the cluster logged them. Used by
// test/unit/controller.test.ts, bad-input-controller.test.ts, bad-input-credentials.test.ts,
// retry-after.test.ts, waves-controller.test.ts and, through ./exactness-harness.ts,
// exactness.test.ts. The model test's replicas (./model-world.ts) and the waves cost experiment
// (bench/experiments/waves-plan-cost.ts) are built by its `testController` too.
import winston from 'winston';
import { digestKey } from '../../src/core/digest.ts';
import { Controller, type ControllerOptions, type ControllerSettings } from '../../src/controller.ts';
import type { InvolvedObject } from '../../src/observability/events.ts';
import { FakeCluster, type WriteRecord } from './fake-cluster.ts';
import { flushMicrotasks, VirtualClock } from './virtual-clock.ts';

/** The namespace the controllers watch. */
export const NS = 'ns';

/** The digest key of every controller of the harness. */
export const TEST_DIGEST_KEY = digestKey(Buffer.alloc(32, 3));

export const silentLog = winston.createLogger({ silent: true });

/** What every controller of the harness runs with, unless the test says otherwise. */
export const DEFAULT_SETTINGS = {
  namespaces: [NS], dryRun: false, debounceMs: 1000, workers: 2, resyncPeriodMs: 0, qps: 0, burst: 1,
} satisfies Partial<ControllerSettings>;

/** Events nobody reads. */
const DISCARDED_EVENTS: ControllerOptions['events'] = { normal: async () => undefined, warning: async () => undefined };

/**
 * The one way tests build a Controller: the test key, a silent log, DEFAULT_SETTINGS and
 * discarded Events, then `options` over them (an API and a clock at least).
 */
export function testController(options: Pick<ControllerOptions, 'api' | 'clock'> & Partial<ControllerOptions>): Controller {
  return new Controller({ digestKey: TEST_DIGEST_KEY, log: silentLog, ...DEFAULT_SETTINGS, events: DISCARDED_EVENTS, ...options });
}

export interface RecordedEvent {
  type: 'Normal' | 'Warning';
  target: InvolvedObject;
  reason: string;
  message: string;
}

export class ControllerHarness {
  readonly clock = new VirtualClock();
  readonly cluster = new FakeCluster();
  /** Every Event the controllers of this harness recorded (unless a test gave them its own sink). */
  readonly events: RecordedEvent[] = [];
  /** Every waveHeld report: [config object name, workloads held]. */
  readonly waveHeld: Array<[string, number]> = [];

  /** With autoDeliver (the default), every write is delivered to the watches at once. */
  constructor(autoDeliver = true) {
    this.cluster.autoDeliver = autoDeliver;
  }

  /**
   * A controller on this cluster and clock, not started: DEFAULT_SETTINGS, Events and waveHeld
   * reports recorded here, then `settings` over them.
   */
  controller(settings: Partial<ControllerOptions> = {}): Controller {
    return testController({
      api: this.cluster, discovery: this.cluster, clock: this.clock,
      events: {
        normal: async (target, reason, message) => void this.events.push({ type: 'Normal', target, reason, message }),
        warning: async (target, reason, message) => void this.events.push({ type: 'Warning', target, reason, message }),
      },
      observer: { waveHeld: (source, held) => void this.waveHeld.push([source.name, held]) },
      ...settings,
    });
  }

  /** A controller that has synced and runs its workers (the leader, until `leadership` aborts). */
  async leader(settings: Partial<ControllerOptions> = {}, leadership?: AbortSignal): Promise<Controller> {
    const c = this.controller(settings);
    await c.start();
    c.runWorkers(leadership);
    return c;
  }

  /** Sets (or with `value` undefined, removes) one annotation of Deployment `name`, as a user would. */
  annotate(name: string, key: string, value: string | undefined, namespace = NS): void {
    this.cluster.update('deployments', namespace, name, (o) => {
      const annotations = (o.metadata.annotations ?? {}) as Record<string, string | undefined>;
      if (value === undefined) delete annotations[key];
      else annotations[key] = value;
      o.metadata.annotations = annotations as Record<string, string>;
    });
  }

  /** Runs what is due: pending callbacks, then every timer due within `horizonMs` of virtual time. */
  async settle(horizonMs = 60_000): Promise<void> {
    await flushMicrotasks();
    await this.clock.runUntilIdle(horizonMs);
  }

  /** The operator's writes (of `name`, when given): adoptions, re-records and rolls. */
  operatorWrites(name?: string): WriteRecord[] {
    return this.cluster.writes.filter((w) => w.by === 'operator' && (name === undefined || w.name === name));
  }

  /** The workloads the operator rolled, in order, once per roll: its writes that changed a pod template. */
  rolled(): string[] {
    return this.operatorWrites().filter((w) => w.templateChanged).map((w) => w.name);
  }
}

/**
 * Starts the controller and its workers, then settles; returns `settle`, which runs the pending
 * microtasks and the timers due within the next second of virtual time.
 */
export async function startSettled(controller: Controller, clock: VirtualClock): Promise<() => Promise<void>> {
  const settle = async () => {
    await flushMicrotasks();
    await clock.runUntilIdle(1_000);
  };
  await controller.start();
  controller.runWorkers();
  await settle();
  return settle;
}
