import { HandlerTimeoutError, type Pusher, type PushInfo, Queue, silentLogger } from '@q/core';
import { describe, expect, it } from 'vitest';
import { delay, numberSource, SettleLog, until } from './helpers.js';

class CollectingPusher implements Pusher<number> {
  readonly pushed: [number, PushInfo | undefined][] = [];
  constructor(private readonly failFor: (m: number) => boolean = () => false) {}
  name(): string {
    return 'dlq';
  }
  async push(m: number, info?: PushInfo): Promise<void> {
    await delay(0);
    if (this.failFor(m)) throw new Error(`dlq refused ${m}`);
    this.pushed.push([m, info]);
  }
}

describe('ordering by key', () => {
  it('same key: one at a time and in order; different keys: in parallel (random handler delays)', async () => {
    const total = 1500;
    const keys = 12;
    // Three consecutive messages share a key, so runs (cut at batchSize 2) and parked runs are exercised.
    const keyOf = (m: number): number => Math.floor(m / 3) % keys;
    const source = numberSource(total, { batch: 7 });
    const order = new Map<number, number[]>();
    const running = new Set<number>();
    let parallel = 0;
    let maxParallel = 0;
    const q = new Queue<number>(
      () => source.producer,
      () => ({
        async consume(m) {
          const key = keyOf(m);
          expect(running.has(key)).toBe(false);
          running.add(key);
          parallel++;
          maxParallel = Math.max(maxParallel, parallel);
          await delay(Math.random() < 0.5 ? 0 : Math.floor(Math.random() * 3));
          order.set(key, [...(order.get(key) ?? []), m]);
          running.delete(key);
          parallel--;
        },
      }),
      { producers: 1, consumers: 6, capacity: 32, batchSize: 2, keyOf },
    );
    const done = q.start();
    await until(() => q.stats().consumed === total, 20_000);
    await q.stop();
    await done;
    for (const [key, list] of order) {
      expect(list).toEqual([...list].sort((a, b) => a - b));
      expect(list.every((m) => keyOf(m) === key)).toBe(true);
    }
    expect([...order.values()].reduce((n, l) => n + l.length, 0)).toBe(total);
    expect(maxParallel).toBeGreaterThan(1);
    expect(source.log.ofType('consumed')).toHaveLength(total);
    expect(source.log.duplicates()).toEqual([]);
  });

  it('messages whose key is undefined are not ordered, and a throwing keyOf is reported', async () => {
    const source = numberSource(40);
    const seen: number[] = [];
    const stages: string[] = [];
    const q = new Queue<number>(
      () => source.producer,
      () => ({ consume: (m) => void seen.push(m) }),
      {
        producers: 1,
        consumers: 3,
        keyOf: (m) => {
          if (m === 13) throw new Error('bad key');
          return m % 2 === 0 ? 'even' : undefined;
        },
      },
    );
    q.on('error', (_e, info) => stages.push(info.stage));
    const done = q.start();
    await until(() => seen.length === 40);
    await q.stop();
    await done;
    expect(stages).toEqual(['key']);
    const evens = seen.filter((m) => m % 2 === 0);
    expect(evens).toEqual([...evens].sort((a, b) => a - b));
  });

  it('messages parked behind a busy key are nacked at the stop deadline', async () => {
    const log = new SettleLog<number>();
    const source = numberSource(5, { log });
    const q = new Queue<number>(
      () => source.producer,
      () => ({ consume: () => new Promise<void>(() => {}) }),
      { producers: 1, consumers: 3, keyOf: () => 'same' },
    );
    const done = q.start();
    await until(() => source.produced() === 5 && q.stats().parked >= 2);
    await q.stop({ timeoutMs: 20 });
    await done;
    expect(log.ofType('nacked').sort()).toEqual([0, 1, 2, 3, 4]);
    expect(log.duplicates()).toEqual([]);
  });
});

describe('retry, dead letter and timeouts', () => {
  it('retries with back-off, then dead-letters with the cause and attempt count', async () => {
    const log = new SettleLog<number>();
    const source = numberSource(30, { log });
    const tries = new Map<number, number>();
    const dlq = new CollectingPusher();
    const deadEvents: number[] = [];
    const contexts: number[] = [];
    const q = new Queue<number>(
      () => source.producer,
      () => ({
        consume(m, context) {
          contexts.push(context.attempt);
          const n = (tries.get(m) ?? 0) + 1;
          tries.set(m, n);
          if (m % 3 === 0) throw new Error(`always ${m}`);
          if (m % 3 === 1 && n < 3) throw new Error(`twice ${m}`);
        },
      }),
      {
        producers: 1,
        consumers: 4,
        retry: { attempts: 3, minDelayMs: 1, maxDelayMs: 4 },
        deadLetter: dlq,
        logger: silentLogger,
      },
    );
    q.on('dead-letter', (m, _e, attempts) => {
      expect(attempts).toBe(3);
      deadEvents.push(m);
    });
    const done = q.start();
    await until(() => log.outcomes.size === 30);
    await q.stop();
    await done;
    const always = Array.from({ length: 10 }, (_, i) => i * 3);
    expect(dlq.pushed.map(([m]) => m).sort((a, b) => a - b)).toEqual(always);
    for (const [m, info] of dlq.pushed) {
      expect(info?.attempts).toBe(3);
      expect(info?.cause).toBeInstanceOf(Error);
      expect((info?.cause as Error | undefined)?.message).toBe(`always ${m}`);
    }
    expect(deadEvents.sort((a, b) => a - b)).toEqual(always);
    expect(log.ofType('dead-lettered').sort((a, b) => a - b)).toEqual(always);
    expect(log.ofType('consumed')).toHaveLength(20);
    expect(log.duplicates()).toEqual([]);
    for (const m of always) expect(tries.get(m)).toBe(3);
    expect(Math.max(...contexts)).toBe(3);
    expect(q.stats()).toMatchObject({ consumed: 20, deadLettered: 10, failed: 0, retries: 10 * 2 + 10 * 2 });
  });

  it('a batch that fails is retried whole, then each message is dead-lettered', async () => {
    const log = new SettleLog<number>();
    const source = numberSource(20, { batch: 5, log });
    const dlq = new CollectingPusher();
    let calls = 0;
    const q = new Queue<number>(
      () => source.producer,
      () => ({
        consume() {},
        consumeBatch(ms) {
          calls++;
          if (ms.includes(7)) throw new Error('batch with 7');
        },
      }),
      { producers: 1, consumers: 1, retry: { attempts: 2, minDelayMs: 1 }, deadLetter: dlq, logger: silentLogger },
    );
    const done = q.start();
    await until(() => log.outcomes.size === 20);
    await q.stop();
    await done;
    expect(dlq.pushed.map(([m]) => m)).toEqual([5, 6, 7, 8, 9]);
    expect(log.ofType('consumed')).toHaveLength(15);
    expect(calls).toBe(5);
  });

  it('a handler over timeoutMs fails with HandlerTimeoutError, its signal aborts, the queue goes on', async () => {
    const log = new SettleLog<number>();
    const source = numberSource(10, { log });
    const aborted: number[] = [];
    const errors: unknown[] = [];
    const q = new Queue<number>(
      () => source.producer,
      () => ({
        async consume(m, { signal }) {
          if (m === 4) {
            signal.addEventListener('abort', () => aborted.push(m));
            await new Promise(() => {});
          }
        },
      }),
      { producers: 1, consumers: 2, timeoutMs: 30 },
    );
    q.on('error', (e) => errors.push(e));
    const done = q.start();
    await until(() => log.outcomes.size === 10);
    await q.stop();
    await done;
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(HandlerTimeoutError);
    expect(aborted).toEqual([4]);
    expect(log.ofType('failed')).toEqual([4]);
    expect(log.ofType('consumed')).toHaveLength(9);
  });

  it('a message in retry back-off when the stop deadline passes is nacked, not lost', async () => {
    const log = new SettleLog<number>();
    const source = numberSource(1, { log });
    const q = new Queue<number>(
      () => source.producer,
      () => ({
        consume() {
          throw new Error('always');
        },
      }),
      { producers: 1, consumers: 1, retry: { attempts: 5, minDelayMs: 10_000 }, logger: silentLogger },
    );
    const done = q.start();
    await until(() => q.stats().retries === 1);
    await q.stop({ timeoutMs: 10 });
    await done;
    expect(log.outcomes.get(0)).toEqual([{ type: 'nacked', reason: 'stop-timeout' }]);
  });

  it('settle() that throws or rejects is reported and does not stop the queue', async () => {
    let i = 0;
    const seen: number[] = [];
    const stages: string[] = [];
    const q = new Queue<number>(
      () => ({
        produce: () => (i < 10 ? i++ : undefined),
        settle(m) {
          if (m === 2) throw new Error('settle broke');
          if (m === 3) return Promise.reject(new Error('settle rejected'));
        },
      }),
      () => ({ consume: (m) => void seen.push(m) }),
      { producers: 1, consumers: 1 },
    );
    q.on('error', (_e, info) => stages.push(info.stage));
    const done = q.start();
    await until(() => seen.length === 10 && stages.length === 2);
    await q.stop();
    await done;
    expect(stages).toEqual(['settle', 'settle']);
  });
});

describe('event-loop fairness', () => {
  for (const keyed of [false, true]) {
    it(`synchronous handlers with a backlog still let timers run${keyed ? ' (keyed runs)' : ''}`, async () => {
      const total = 1_500_000;
      let next = 0;
      let handled = 0;
      let sink = 0;
      const q = new Queue<number>(
        () => ({
          produce() {
            if (next >= total) return undefined;
            const out: number[] = [];
            for (let i = 0; i < 10_000; i++) out.push(next++);
            return out;
          },
        }),
        () => ({
          consume(m) {
            // About a microsecond of work, and never a promise: the loop itself must yield.
            for (let i = 0; i < 50; i++) sink += Math.sqrt(m + i);
            handled++;
          },
        }),
        {
          producers: 1,
          consumers: 4,
          capacity: 100_000,
          statsIntervalMs: 0,
          ...(keyed ? { keyOf: () => 1, batchSize: 100_000 } : {}),
        },
      );
      let last = performance.now();
      let maxGap = 0;
      let ticks = 0;
      const timer = setInterval(() => {
        const now = performance.now();
        maxGap = Math.max(maxGap, now - last);
        last = now;
        ticks++;
      }, 1);
      const done = q.start();
      await until(() => handled === total, 60_000, 'all handled');
      clearInterval(timer);
      await q.stop();
      await done;
      expect(sink).toBeGreaterThan(0);
      expect(ticks).toBeGreaterThan(10);
      // The queue yields every 5 ms of work; a loaded 2-core CI machine gets generous slack (before
      // consumers yielded, the timer fired 2-4 times in the whole run).
      expect(maxGap).toBeLessThan(500);
    }, 90_000);
  }
});
