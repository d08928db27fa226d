import { setTimeout as sleep } from 'node:timers/promises';
import { Coalescer } from '../src/modules/chat/streaming/coalescer';
import { busynessOf, LoadGauge } from '../src/modules/chat/streaming/load-gauge';

const endOfTurn = () => new Promise((resolve) => setImmediate(resolve));

/** Tokens join into fewer deltas only as busy as the server is (issue: adaptive coalescing). */
describe('coalescing a reply’s tokens', () => {
  it('should send each token at the end of the turn it arrived in when the server is idle', async () => {
    const sent: string[] = [];
    const coalescer = new Coalescer(
      30,
      () => 0,
      (text) => sent.push(text),
    );
    coalescer.push('a');
    coalescer.push('b'); // the same network read: one delta
    expect(sent).toEqual([]);
    await endOfTurn();
    expect(sent).toEqual(['ab']);
    coalescer.push('c'); // right after: no window to wait for when idle
    await endOfTurn();
    expect(sent).toEqual(['ab', 'c']);
  });

  it('should join the tokens of a burst over the window when the server is busy', async () => {
    const sent: string[] = [];
    const coalescer = new Coalescer(
      40,
      () => 1,
      (text) => sent.push(text),
    );
    coalescer.push('a');
    await endOfTurn();
    expect(sent).toEqual(['a']); // after a quiet spell: at once
    coalescer.push('b');
    await endOfTurn();
    coalescer.push('c');
    await endOfTurn();
    expect(sent).toEqual(['a']); // within the window: held
    await sleep(60);
    expect(sent).toEqual(['a', 'bc']);
  });

  it('should send one delta per token, at once, with coalescing off', () => {
    const sent: string[] = [];
    const coalescer = new Coalescer(
      0,
      () => 1,
      (text) => sent.push(text),
    );
    coalescer.push('a');
    coalescer.push('b');
    expect(sent).toEqual(['a', 'b']);
  });

  it('should count a loop used half the time or less as idle, 85% or more as busy, linear between', () => {
    expect([0, 0.3, 0.5].map(busynessOf)).toEqual([0, 0, 0]);
    expect(busynessOf(0.675)).toBeCloseTo(0.5, 5);
    expect([0.85, 0.95, 1].map(busynessOf)).toEqual([1, 1, 1]);
  });

  // An idle reading of the real loop is not asserted: a jest worker's loop also runs whatever
  // earlier suites in that worker left behind (it read 1 once, in a full run).
  it('should read a saturated event loop as busy', async () => {
    const gauge = new LoadGauge();
    try {
      // Keep the loop busy for ~300 ms, yielding between slices so its timer can sample.
      const until = Date.now() + 300;
      while (Date.now() < until) {
        const slice = Date.now() + 40;
        while (Date.now() < slice) {
          /* busy */
        }
        await endOfTurn();
      }
      expect(gauge.busyness()).toBeGreaterThan(0.5);
    } finally {
      gauge.close();
    }
  });
});
