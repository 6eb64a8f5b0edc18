import { describe, expect, it } from 'vitest';
import { AdaptiveConcurrency, type ConcurrencyDecision } from '../src/concurrency.js';

/** Feeds a scripted latency per round (one sample per request in flight) and records the limits. */
function script(
  controller: AdaptiveConcurrency,
  latencyAt: (limit: number, round: number) => number,
  rounds: number,
) {
  const limits: number[] = [];
  const decisions: ConcurrencyDecision[] = [];
  for (let r = 0; r < rounds; r++) {
    const limit = controller.limit;
    limits.push(limit);
    for (let i = 0; i < limit; i++) {
      const d = controller.record({ msPerTask: latencyAt(limit, r) });
      if (i === limit - 1) decisions.push(d);
    }
  }
  return { limits, decisions };
}

describe('AdaptiveConcurrency', () => {
  it('starts at one and climbs to the cap while latency stays flat (a server that scales)', () => {
    const c = new AdaptiveConcurrency({ max: 4, hold: 2, probeAfterMs: 0 });
    expect(c.limit).toBe(1);
    const { limits } = script(c, () => 10, 9);
    expect(limits).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 4]);
  });

  it('drops to one when latency rises with concurrency (writes serialise), and probes again ever later', () => {
    const c = new AdaptiveConcurrency({ max: 4, hold: 2, probeAfterMs: 0 });
    // Latency per task grows with the requests in flight, as on SQLite.
    const { limits, decisions } = script(c, (limit) => 10 * limit, 16);
    expect(limits).toEqual([1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1]);
    expect(decisions.filter((d) => d === 'drop')).toHaveLength(2);
  });

  it('a "database is locked" answer drops to one at once', () => {
    const c = new AdaptiveConcurrency({ max: 4, hold: 1, probeAfterMs: 0 });
    script(c, () => 10, 3);
    expect(c.limit).toBe(4);
    expect(c.record({ msPerTask: 10, locked: true })).toBe('drop');
    expect(c.limit).toBe(1);
  });

  it('ignores batches sent under an older limit, and never exceeds the cap', () => {
    const c = new AdaptiveConcurrency({ max: 2, hold: 1, probeAfterMs: 0 });
    const first = c.ticket();
    const second = c.ticket();
    expect(c.record({ msPerTask: 10 }, first)).toBe('raise');
    expect(c.limit).toBe(2);
    // A slow answer of a batch sent at limit 1 says nothing about limit 2.
    expect(c.record({ msPerTask: 1000 }, second)).toBe('wait');
    expect(c.limit).toBe(2);
    expect(script(c, () => 10, 5).limits).toEqual([2, 2, 2, 2, 2]);
  });

  it('latency within the tolerance counts as flat; beyond it as rising', () => {
    const flat = new AdaptiveConcurrency({ max: 3, hold: 1, tolerance: 1.5, probeAfterMs: 0 });
    expect(script(flat, (limit) => (limit === 1 ? 10 : 14), 4).limits).toEqual([1, 2, 3, 3]);
    const rising = new AdaptiveConcurrency({ max: 3, hold: 1, tolerance: 1.5, probeAfterMs: 0 });
    expect(script(rising, (limit) => (limit === 1 ? 10 : 16), 3).limits).toEqual([1, 2, 1]);
  });

  it('judges a round only when all its batches answered, so one request starved by a lock still counts', () => {
    const c = new AdaptiveConcurrency({ max: 3, hold: 1, probeAfterMs: 0 });
    expect(c.record({ msPerTask: 10 })).toBe('raise');
    const [a, b, c2, d] = [c.ticket(), c.ticket(), c.ticket(), c.ticket()]; // rounds: [a, b], [c2, d]
    expect(c.record({ msPerTask: 10 }, a)).toBe('wait');
    // Round 2 answers first and looks flat, but round 1 still waits for b: no raise yet.
    expect(c.record({ msPerTask: 10 }, c2)).toBe('wait');
    expect(c.record({ msPerTask: 10 }, d)).toBe('wait');
    expect(c.limit).toBe(2);
    // b waited on the lock: its round's mean (10 + 90) / 2 is rising.
    expect(c.record({ msPerTask: 90 }, b)).toBe('drop');
    expect(c.limit).toBe(1);
  });

  it('a request in flight that is already slower than flat drops the limit before it answers', () => {
    const c = new AdaptiveConcurrency({ max: 3, hold: 1, probeAfterMs: 0 });
    expect(c.record({ msPerTask: 10 })).toBe('raise');
    const [a, b] = [c.ticket(), c.ticket()];
    expect(c.observeInFlight(12, b)).toBe('wait'); // within 1.5× the best
    expect(c.record({ msPerTask: 10 }, a)).toBe('wait');
    expect(c.observeInFlight(40, b)).toBe('drop');
    expect(c.limit).toBe(1);
    expect(c.observeInFlight(400, b)).toBe('wait'); // an older round says nothing more
  });

  it('probes two only after probeAfterMs at one, and waits ×4 longer after a failed probe', () => {
    let clock = 0;
    const c = new AdaptiveConcurrency({ max: 2, hold: 1, probeAfterMs: 1000, now: () => clock });
    for (let i = 0; i < 5; i++) {
      clock += 100;
      expect(c.record({ msPerTask: 10 })).toBe('hold'); // flat, but only 500 ms spent at one
    }
    clock = 1000;
    expect(c.record({ msPerTask: 10 })).toBe('raise');
    c.record({ msPerTask: 10 });
    expect(c.record({ msPerTask: 40 })).toBe('drop'); // rising at two
    clock += 3999;
    for (let i = 0; i < 8; i++) expect(c.record({ msPerTask: 10 })).toBe('hold');
    clock += 1;
    expect(c.record({ msPerTask: 10 })).toBe('raise');
  });
});
