import { describe, expect, it } from 'vitest';
import { CountCache } from '../src/modules/datasets/count-cache.js';

/** A count that resolves only when told to, and records how often it ran. */
function deferredCounts() {
  const pending: Array<(n: number) => void> = [];
  let calls = 0;
  return {
    count: () =>
      new Promise<number>((resolve) => {
        calls++;
        pending.push(resolve);
      }),
    resolveNext: (n: number) => pending.shift()!(n),
    get calls() {
      return calls;
    },
  };
}

describe('CountCache', () => {
  it('shares one count between concurrent misses', async () => {
    const cache = new CountCache({ ttlMs: 1000, staleMs: 10_000, maxEntries: 10 });
    const counts = deferredCounts();
    const all = Promise.all([1, 2, 3].map(() => cache.get('k', counts.count)));
    counts.resolveNext(7);
    expect(await all).toEqual([7, 7, 7]);
    expect(counts.calls).toBe(1);
  });

  it('answers fresh entries from memory, stale ones at once while one refresh runs', async () => {
    let now = 0;
    const cache = new CountCache({ ttlMs: 1000, staleMs: 10_000, maxEntries: 10 }, () => now);
    const counts = deferredCounts();
    const first = cache.get('k', counts.count);
    counts.resolveNext(1);
    expect(await first).toBe(1);
    now = 500;
    expect(await cache.get('k', counts.count)).toBe(1);
    expect(counts.calls).toBe(1);
    now = 1500;
    expect(await cache.get('k', counts.count)).toBe(1);
    expect(await cache.get('k', counts.count)).toBe(1);
    expect(counts.calls).toBe(2);
    counts.resolveNext(2);
    await new Promise((r) => setTimeout(r, 0));
    expect(await cache.get('k', counts.count)).toBe(2);
    expect(counts.calls).toBe(2);
  });

  it('waits for the refresh once an entry is older than staleMs', async () => {
    let now = 0;
    const cache = new CountCache({ ttlMs: 1000, staleMs: 5000, maxEntries: 10 }, () => now);
    const counts = deferredCounts();
    const first = cache.get('k', counts.count);
    counts.resolveNext(1);
    await first;
    now = 6000;
    const waiting = cache.get('k', counts.count);
    counts.resolveNext(9);
    expect(await waiting).toBe(9);
  });

  it('invalidate drops entries, and a count running across it is not kept', async () => {
    const cache = new CountCache({ ttlMs: 60_000, staleMs: 60_000, maxEntries: 10 });
    const counts = deferredCounts();
    const before = cache.get('k', counts.count);
    cache.invalidate();
    counts.resolveNext(1);
    expect(await before).toBe(1);
    const after = cache.get('k', counts.count);
    expect(counts.calls).toBe(2);
    counts.resolveNext(2);
    expect(await after).toBe(2);
    expect(await cache.get('k', counts.count)).toBe(2);
    expect(counts.calls).toBe(2);
  });

  it('a failed count is not cached, and the next caller counts again', async () => {
    const cache = new CountCache({ ttlMs: 1000, staleMs: 10_000, maxEntries: 10 });
    await expect(cache.get('k', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get('k', async () => 4)).toBe(4);
  });
});
