import { describe, expect, it } from 'vitest';
import { KeyScheduler } from '../src/queue/key-scheduler.js';
import type { Reporter } from '../src/queue/reporter.js';
import { consumerSlot, type ProducerSlot } from '../src/queue/slots.js';

// Hold tokens: a consumer lets all its keys go at once by retiring its token, and its epoch wraps
// after 2^17 holds. These drive the scheduler directly, as the consumer loops do.

function scheduler() {
  const errors: unknown[] = [];
  const report = { error: (e: unknown) => errors.push(e) } as unknown as Reporter<number>;
  const keys = new KeyScheduler<number>((m) => m, 1_024, report);
  const a = consumerSlot<number>(1, new AbortController());
  const b = consumerSlot<number>(2, new AbortController());
  const origin = {} as ProducerSlot<number>;
  return { keys, a, b, origin, errors };
}

describe('KeyScheduler hold tokens', () => {
  it('letting go retires every key of the batch at once; another consumer then takes them', () => {
    const { keys, a, b, origin } = scheduler();
    expect(keys.take(a, [1, 2, 3], origin)).toEqual([1, 2, 3]);
    // Held by a: b parks them behind a, in order.
    expect(keys.take(b, [2, 3, 4], origin)).toEqual([4]);
    expect(keys.next(a, 256)?.run).toEqual([2, 3]);
    expect(keys.next(a, 256)).toBeUndefined();
    expect(keys.next(b, 256)).toBeUndefined();
    expect(keys.take(b, [1, 2, 3], origin)).toEqual([1, 2, 3]);
    expect(keys.parked).toBe(0);
  });

  it('a token that comes round again (epoch wrap) only makes a free key wait behind its consumer: nothing lost, nothing run twice', () => {
    const { keys, a, b, origin } = scheduler();
    // a's first hold (epoch 1) takes key 5 and lets it go: slot 5 keeps that stale token.
    expect(keys.take(a, [5], origin)).toEqual([5]);
    expect(keys.next(a, 256)).toBeUndefined();
    // 2^17 - 1 more holds of key 7 bring a's epoch round to 0; the next one is epoch 1 again.
    for (let i = 0; i < 2 ** 17 - 1; i++) {
      keys.take(a, [7], origin);
      keys.next(a, 256);
    }
    expect(keys.take(a, [7], origin)).toEqual([7]);
    // Key 5 is free, but its stale token equals a's current one: b's message parks behind a.
    expect(keys.take(b, [5], origin)).toEqual([]);
    expect(keys.parked).toBe(1);
    // a runs it next, once, then lets go; b finds key 5 free afterwards.
    expect(keys.next(a, 256)?.run).toEqual([5]);
    expect(keys.next(a, 256)).toBeUndefined();
    expect(keys.parked).toBe(0);
    expect(keys.take(b, [5, 7], origin)).toEqual([5, 7]);
  });
});

describe('KeyScheduler batches', () => {
  it('a keyOf that throws in a batch makes that message keyless (reported once); the keys around it stay ordered', () => {
    const errors: unknown[] = [];
    const report = { error: (e: unknown) => errors.push(e) } as unknown as Reporter<number>;
    const keys = new KeyScheduler<number>(
      (m) => {
        if (m === 13) throw new Error('bad key');
        return m % 10;
      },
      1_024,
      report,
    );
    const a = consumerSlot<number>(1, new AbortController());
    const b = consumerSlot<number>(2, new AbortController());
    const origin = {} as ProducerSlot<number>;
    expect(keys.take(a, [1, 2], origin)).toEqual([1, 2]);
    // 11 and 12 wait behind a (keys 1 and 2); 13 has no key; 14 is free.
    expect(keys.take(b, [11, 12, 13, 14], origin)).toEqual([13, 14]);
    expect(errors).toHaveLength(1);
    expect(keys.next(a, 256)?.run).toEqual([11, 12]);
    expect(keys.next(a, 256)).toBeUndefined();
    // b still holds key 4 (its call is not over): a's 24 waits behind it.
    expect(keys.take(a, [21, 24], origin)).toEqual([21]);
    expect(keys.next(b, 256)?.run).toEqual([24]);
  });

  it('a batch cut at every position (four messages a turn, then the rest) keeps each side in order', () => {
    const { keys, a, b, origin } = scheduler();
    expect(keys.take(a, [3, 5, 6, 9, 10], origin)).toEqual([3, 5, 6, 9, 10]);
    expect(keys.take(b, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], origin)).toEqual([0, 1, 2, 4, 7, 8, 11]);
    expect(keys.next(a, 256)?.run).toEqual([3, 5, 6, 9, 10]);
    expect(keys.next(a, 256)).toBeUndefined();
    expect(keys.parked).toBe(0);
  });

  it('string and fractional keys go by their slot like integer ones', () => {
    const report = { error: () => {} } as unknown as Reporter<string | number>;
    const keys = new KeyScheduler<string | number>((m) => m, 1_024, report);
    const a = consumerSlot<string | number>(1, new AbortController());
    const b = consumerSlot<string | number>(2, new AbortController());
    const origin = {} as ProducerSlot<string | number>;
    expect(keys.take(a, ['x', 1.5, 7], origin)).toEqual(['x', 1.5, 7]);
    expect(keys.take(b, [7, 'x', 'y', 1.5, 8], origin)).toEqual(['y', 8]);
    expect(keys.next(a, 256)?.run).toEqual([7, 'x', 1.5]);
    expect(keys.parked).toBe(0);
  });
});
