// The timer layer (src/time/clock.ts) never hands the host a delay it cannot hold: Node arms a
// setTimeout of 2^31 ms or more as 1 ms. A fake host records what is armed and fires it in
// virtual time.
import { expect } from 'chai';
import { hostTimer, MAX_TIMER_MS, type TimerHost } from '../../src/time/clock.ts';

/** A TimerHost with Node's rule (a delay past 2^31-1 ms, or below 1, is 1 ms), driven by advance(). */
class FakeHost implements TimerHost {
  now = 0;
  readonly armed: number[] = [];
  #timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
  setTimeout(fn: () => void, ms: number): unknown {
    this.armed.push(ms);
    const timer = { at: this.now + (ms > MAX_TIMER_MS || !(ms >= 1) ? 1 : ms), fn, live: true };
    this.#timers.push(timer);
    return timer;
  }
  clearTimeout(handle: unknown): void {
    (handle as { live: boolean }).live = false;
  }
  /** Runs every timer due by now + ms, in order. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const next = this.#timers.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      next.live = false;
      this.now = next.at;
      next.fn();
    }
    this.now = end;
  }
}

describe('clock: host timers', () => {
  it('a delay past 2^31-1 ms fires when due, never early, through host timers none longer than that', () => {
    const host = new FakeHost();
    const hours1000 = 1000 * 3_600_000;
    let fired = 0;
    hostTimer(host, hours1000, () => fired++);
    host.advance(1);
    expect(fired, 'after 1 ms (what Node makes of an unguarded 1000h timer)').to.equal(0);
    host.advance(hours1000 - 2);
    expect(fired, 'just before it is due').to.equal(0);
    host.advance(1);
    expect(fired, 'when due').to.equal(1);
    host.advance(hours1000);
    expect(fired, 'once').to.equal(1);
    expect(Math.max(...host.armed)).to.be.at.most(MAX_TIMER_MS);
    expect(host.armed.reduce((a, b) => a + b, 0)).to.equal(hours1000);
  });

  it('a long timer cancelled between its host timers never fires; short ones are passed through as they are', () => {
    const host = new FakeHost();
    let fired = 0;
    const timer = hostTimer(host, 3 * MAX_TIMER_MS, () => fired++);
    host.advance(MAX_TIMER_MS + 5);
    timer.cancel();
    host.advance(3 * MAX_TIMER_MS);
    expect(fired).to.equal(0);
    hostTimer(host, 250, () => fired++);
    hostTimer(host, -5, () => fired++);
    expect(host.armed.slice(-2)).to.deep.equal([250, 0]);
    host.advance(250);
    expect(fired).to.equal(2);
  });

  it('Infinity never fires and arms nothing; NaN is refused, not taken for 1 ms', () => {
    const host = new FakeHost();
    let fired = 0;
    hostTimer(host, Infinity, () => fired++).cancel();
    hostTimer(host, Infinity, () => fired++);
    host.advance(10 * MAX_TIMER_MS);
    expect([fired, host.armed]).to.deep.equal([0, []]);
    expect(() => hostTimer(host, NaN, () => fired++)).to.throw(RangeError);
  });
});
