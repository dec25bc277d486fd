// A change of a config object read by many workloads is evaluated in slices of
// CONSUMERS_PER_TURN consumers, one slice per turn of the event loop, so that an unrelated
// change's watch event is not held behind a fan-out's whole evaluation (a ConfigMap read by
// 1,000 workloads held the loop 144 ms: bench/results/fanout-tail/run-13). Triage alone, with a
// counting evaluator and a clock whose timers run only when the test says: one timer, one turn.
import { expect } from 'chai';
import winston from 'winston';
import { CONSUMERS_PER_TURN, Triage } from '../../src/controller/triage.ts';
import type { SourceChange } from '../../src/state/source-store.ts';
import type { Clock } from '../../src/time/clock.ts';
import { VirtualClock } from '../support/virtual-clock.ts';

const SHARED = 'ConfigMap/ns/shared';

function triage(consumerCount: number, stopping = () => false) {
  const virtual = new VirtualClock();
  const timers: Array<() => void> = [];
  const clock: Clock = Object.assign(Object.create(virtual) as Clock, {
    after: (_ms: number, fn: () => void) => (timers.push(fn), { cancel: () => undefined }),
  });
  const consumers = Array.from({ length: consumerCount }, (_, i) => `Deployment/ns/app-${i}`);
  const states = new Map(consumers.map((key) => [key, { key, namespace: 'ns', optIn: { kind: 'in' } }]));
  const evaluated: string[] = [];
  const queued: string[] = [];
  const t = new Triage({
    workloads: { index: { consumersOf: (key: string) => (key === SHARED ? consumers : []) }, get: (key: string) => states.get(key) } as never,
    queue: { add: (key: string) => void queued.push(key), addAfter: (key: string) => void queued.push(key) } as never,
    reconciler: { evaluate: (w: { key: string }) => (evaluated.push(w.key), { code: 'config_changed', action: 'roll' }) } as never,
    clock,
    log: winston.createLogger({ silent: true }),
    synced: () => true,
    stopping,
  });
  const change: SourceChange = { key: SHARED as never, kind: 'ConfigMap', namespace: 'ns', name: 'shared', before: undefined, after: undefined, content: true };
  /** The next turn of the event loop: the timers armed so far run, not those they arm. */
  const turn = (): void => {
    for (const fn of timers.splice(0)) fn();
  };
  return { t, turn, consumers, evaluated, queued, change };
}

describe('triage: a fan-out is evaluated in slices, one per turn of the event loop', () => {
  it(`${CONSUMERS_PER_TURN * 2 + 50} consumers: ${CONSUMERS_PER_TURN} evaluated per turn, each queued once, in order`, () => {
    const { t, turn, consumers, evaluated, queued, change } = triage(CONSUMERS_PER_TURN * 2 + 50);
    t.configChanged(change);
    expect(evaluated, 'in the change event\'s own turn').to.have.length(CONSUMERS_PER_TURN);
    turn();
    expect(evaluated).to.have.length(CONSUMERS_PER_TURN * 2);
    turn();
    expect(evaluated).to.deep.equal(consumers);
    expect(queued).to.deep.equal(consumers);
    turn();
    expect(evaluated, 'nothing more').to.have.length(consumers.length);
  });

  it(`up to ${CONSUMERS_PER_TURN} consumers: all in the change event's own turn, as before`, () => {
    const { t, consumers, evaluated, change } = triage(CONSUMERS_PER_TURN);
    t.configChanged(change);
    expect(evaluated).to.deep.equal(consumers);
  });

  it('a stop between slices ends the evaluation', () => {
    let stopped = false;
    const { t, turn, evaluated, change } = triage(CONSUMERS_PER_TURN * 3, () => stopped);
    t.configChanged(change);
    stopped = true;
    turn();
    expect(evaluated).to.have.length(CONSUMERS_PER_TURN);
  });
});
