import { fromIterable, NO_MORE, Queue, silentLogger } from '@q/core';
import { describe, expect, it } from 'vitest';
import { delay, outcomeWithin } from './helpers.js';

describe('a finite source: the queue drains and stops by itself', () => {
  it('fromIterable(array): start() resolves once every message was consumed, each once', async () => {
    const seen: number[] = [];
    const q = new Queue<number>(
      fromIterable(Array.from({ length: 1000 }, (_, i) => i)),
      () => ({
        consume: async (m) => {
          await Promise.resolve();
          seen.push(m);
        },
      }),
      { producers: 1, consumers: 4, capacity: 16, statsIntervalMs: 0 },
    );
    expect(await outcomeWithin(q.start(), 5000)).toBe('resolved');
    expect(q.state).toBe('stopped');
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('fromIterable(async generator) with 3 producer loops sharing it; the generator is not called after it ended', async () => {
    let yielded = 0;
    async function* rows(): AsyncGenerator<number> {
      for (let i = 0; i < 500; i++) {
        if (i % 50 === 0) await delay(1);
        yielded++;
        yield i;
      }
    }
    const seen = new Set<number>();
    let dup = 0;
    const q = new Queue<number>(
      fromIterable(rows()),
      () => ({
        consume: (m) => {
          if (seen.has(m)) dup++;
          seen.add(m);
        },
      }),
      { producers: 3, consumers: 2, statsIntervalMs: 0 },
    );
    expect(await outcomeWithin(q.start(), 5000)).toBe('resolved');
    expect({ seen: seen.size, dup, yielded }).toEqual({ seen: 500, dup: 0, yielded: 500 });
  });

  it('a producer returning NO_MORE ends its loop; the queue stops once every loop did', async () => {
    let next = 0;
    const q = new Queue<number>(
      () => ({ produce: () => (next < 10 ? next++ : NO_MORE) }),
      () => ({ consume: () => {} }),
      { producers: 2, consumers: 1, statsIntervalMs: 0, logger: silentLogger },
    );
    expect(await outcomeWithin(q.start(), 5000)).toBe('resolved');
    expect(q.stats().consumed).toBe(10);
  });

  it('stopped early, fromIterable ends the generator (its finally runs)', async () => {
    let finished = false;
    async function* endless(): AsyncGenerator<number> {
      try {
        for (let i = 0; ; i++) {
          await delay(1);
          yield i;
        }
      } finally {
        finished = true;
      }
    }
    const q = new Queue<number>(fromIterable(endless()), () => ({ consume: () => {} }), {
      producers: 1,
      statsIntervalMs: 0,
    });
    const done = q.start();
    await delay(30);
    await q.stop({ timeoutMs: 1000 });
    await done;
    expect(finished).toBe(true);
  });
});
