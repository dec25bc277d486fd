// Starting a controller on the virtual clock, as the waves tests and their cost experiment do.
import type { Controller } from '../../src/controller.ts';
import { flushMicrotasks, type VirtualClock } from './virtual-clock.ts';

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
