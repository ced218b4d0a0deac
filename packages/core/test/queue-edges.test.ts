import { type Logger, type Outcome, Queue, silentLogger } from '@q/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { delay, outcomeWithin } from './helpers.js';

// Edges an adversarial review proved (one test each, written before the fix).

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
beforeEach(() => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
});

/** A producer of 0..n-1 that records each settlement. */
function source(n: number): {
  produce: () => number | undefined;
  settle: (m: number, o: Outcome) => void;
  outcomes: Map<number, string[]>;
} {
  let next = 0;
  const outcomes = new Map<number, string[]>();
  return {
    produce: () => (next < n ? next++ : undefined),
    settle: (m, o) => {
      const list = outcomes.get(m) ?? [];
      list.push(o.type === 'nacked' ? `nacked(${o.reason})` : o.type);
      outcomes.set(m, list);
    },
    outcomes,
  };
}

describe('Queue edges', () => {
  it('every consumer loop gone (an invalid consumer): stop() nacks what is left instead of losing it', async () => {
    const src = source(5);
    const q = new Queue<number>(
      () => src,
      () => ({ consumeBatch: () => {} }) as never,
      {
        consumers: 2,
        statsIntervalMs: 0,
        logger: silentLogger,
      },
    );
    const done = q.start();
    await delay(50);
    await q.stop({ timeoutMs: 1000 });
    await done;
    expect([...src.outcomes.keys()].sort()).toEqual([0, 1, 2, 3, 4]);
    expect([...src.outcomes.values()].every((o) => o.length === 1 && o[0]?.startsWith('nacked'))).toBe(true);
  });

  it('options.signal aborted before start(): start() and stop() resolve', async () => {
    const q = new Queue<number>(
      () => ({ produce: () => 1 }),
      () => ({ consume: () => {} }),
      {
        statsIntervalMs: 0,
        signal: AbortSignal.abort(),
      },
    );
    expect(await outcomeWithin(q.start(), 1000)).toBe('resolved');
    expect(await outcomeWithin(q.stop({ timeoutMs: 50 }), 1000)).toBe('resolved');
  });

  it('stop() called from inside a factory during start(): both resolve', async () => {
    let q!: Queue<number>;
    q = new Queue<number>(
      () => {
        void q.stop({ timeoutMs: 50 });
        return { produce: () => 1 };
      },
      () => ({ consume: () => {} }),
      { statsIntervalMs: 0 },
    );
    expect(await outcomeWithin(q.start(), 1000)).toBe('resolved');
  });

  it('a throwing logger never ends a loop: every message settled, no rejection', async () => {
    const src = source(4);
    const logger: Logger = {
      error: () => {
        throw new Error('logger down');
      },
      warn() {},
      info() {},
      debug() {},
    };
    const q = new Queue<number>(
      () => src,
      () => ({
        consume: (m) => {
          if (m === 1) throw new Error('handler fails');
        },
      }),
      { logger, statsIntervalMs: 0 },
    );
    const done = q.start();
    await delay(100);
    expect(await outcomeWithin(q.stop({ timeoutMs: 300 }), 2000)).toBe('resolved');
    expect(await outcomeWithin(done, 100)).toBe('resolved');
    expect([...src.outcomes.keys()].sort()).toEqual([0, 1, 2, 3]);
    expect(unhandled).toEqual([]);
  });

  for (const batch of [false, true]) {
    it(`a hot key's holder still gets broadcasts between its messages (${batch ? 'consumeBatch' : 'consume'})`, async () => {
      let next = 0;
      const got: number[] = [];
      let ids = 0;
      const q = new Queue<number>(
        () => ({ produce: () => next++ }),
        () => {
          const id = ids++;
          return {
            consume: () => delay(1),
            ...(batch ? { consumeBatch: () => delay(1) } : {}),
            onEvent: () => void got.push(id),
          };
        },
        { consumers: 2, capacity: 16, batchSize: 4, keyOf: () => 0, statsIntervalMs: 0 },
      );
      const done = q.start();
      await delay(50);
      const delivered = q.broadcast('hello');
      expect(await outcomeWithin(delivered, 1000)).toBe('resolved');
      expect(await delivered).toBe(2);
      await q.stop({ timeoutMs: 100 });
      await done;
    });
  }

  it('durations above setTimeout`s range are refused with a typed error, not fired at once', () => {
    const make = (o: object) =>
      new Queue<number>(
        () => ({ produce: () => undefined }),
        () => ({ consume: () => {} }),
        o,
      );
    expect(() => make({ timeoutMs: 2 ** 31 })).toThrow(/timeoutMs/);
    const q = make({ statsIntervalMs: 0 });
    expect(() => q.stop({ timeoutMs: 30 * 24 * 3600 * 1000 })).toThrow(/timeoutMs/);
  });

  it('stop({ timeoutMs: Infinity }) waits for close()', async () => {
    let closed = false;
    const q = new Queue<number>(
      () => ({ produce: () => undefined }),
      () => ({ consume: () => {}, close: () => delay(150).then(() => void (closed = true)) }),
      { statsIntervalMs: 0 },
    );
    const done = q.start();
    await delay(20);
    await q.stop({ timeoutMs: Number.POSITIVE_INFINITY });
    await done;
    expect(closed).toBe(true);
  });

  it('a shorter second stop() applies while close() hangs', async () => {
    const q = new Queue<number>(
      () => ({ produce: () => undefined }),
      () => ({ consume: () => {}, close: () => new Promise<void>(() => {}) }),
      { statsIntervalMs: 0 },
    );
    const done = q.start();
    await delay(20);
    // The first deadline is far past the bound below, which then has slack for a slow CI machine.
    void q.stop({ timeoutMs: 20_000 });
    await delay(100);
    const t0 = performance.now();
    await q.stop({ timeoutMs: 50 });
    await done;
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('a shared instance a slow factory returns late is closed once', async () => {
    let producerCloses = 0;
    let consumerCloses = 0;
    const producer = { produce: () => undefined, close: () => void producerCloses++ };
    const consumer = { consume: () => {}, close: () => void consumerCloses++ };
    const slow =
      <X>(x: X) =>
      () =>
        new Promise<X>((r) => setTimeout(() => r(x), 50));
    const q = new Queue<number>(slow(producer), slow(consumer), { producers: 3, consumers: 3, statsIntervalMs: 0 });
    const done = q.start();
    await delay(10); // every factory call is in flight
    await q.stop({ timeoutMs: 1000 });
    await done;
    await delay(100);
    expect({ producerCloses, consumerCloses }).toEqual({ producerCloses: 1, consumerCloses: 1 });
  });

  for (const batch of [false, true]) {
    it(`a key that cannot be turned into a string counts as no key (${batch ? 'consumeBatch' : 'consume'})`, async () => {
      const src = source(6);
      const bad = Object.create(null) as never;
      const q = new Queue<number>(
        () => src,
        () => ({ consume: () => {}, ...(batch ? { consumeBatch: () => {} } : {}) }),
        { consumers: 2, batchSize: 4, keyOf: (m) => (m === 2 ? bad : m % 2), statsIntervalMs: 0, logger: silentLogger },
      );
      const done = q.start();
      await delay(100);
      await q.stop({ timeoutMs: 300 });
      await done;
      expect([...src.outcomes].sort((a, b) => a[0] - b[0])).toEqual([0, 1, 2, 3, 4, 5].map((m) => [m, ['consumed']]));
    });
  }

  it('batchSize has an upper bound (a typed error, not a dead loop)', () => {
    expect(
      () =>
        new Queue<number>(
          () => ({ produce: () => undefined }),
          () => ({ consume: () => {} }),
          { batchSize: 2 ** 34, keyOf: () => 0 },
        ),
    ).toThrow(/batchSize/);
  });

  it('a throwing listener does not hide the event from the listeners after it', async () => {
    const src = source(1);
    const seen: string[] = [];
    const q = new Queue<number>(
      () => src,
      () => ({
        consume: () => {
          throw new Error('fail');
        },
      }),
      {
        statsIntervalMs: 0,
        logger: silentLogger,
        deadLetter: { name: () => 'dl', push: () => {}, pushAndConfirm: async () => {} },
      },
    );
    q.on('dead-letter', () => {
      throw new Error('first broke');
    });
    q.on('dead-letter', () => void seen.push('second dead-letter'));
    q.on('drain', () => {
      throw new Error('first drain broke');
    });
    q.on('drain', () => void seen.push('second drain'));
    q.on('error', () => {});
    const done = q.start();
    await delay(100);
    await q.stop();
    await done;
    expect(seen).toContain('second dead-letter');
    expect(seen).toContain('second drain');
  });
});
