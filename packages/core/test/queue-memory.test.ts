import { type Consumer, Queue } from '@q/core';
import { describe, expect, it } from 'vitest';
import { delay } from './helpers.js';

/**
 * "Held" = produced and not yet finished by a handler: in a producer's hand, in the channel, or in a
 * consumer's hand. The bound is the channel's capacity plus one batch per producer and per consumer (keyed: one run in
 * hand and one parked per consumer).
 */
async function maxHeld(options: {
  capacity: number;
  producers: number;
  consumers: number;
  batch: number;
  batchConsumer: boolean;
  batchSize: number;
  keyed?: boolean;
  total: number;
}): Promise<number> {
  let next = 0;
  let finished = 0;
  let max = 0;
  const observe = (): void => {
    max = Math.max(max, next - finished);
  };
  const consumer: Consumer<number> = {
    async consume() {
      observe();
      await delay(Math.random() < 0.1 ? 1 : 0);
      finished++;
    },
    ...(options.batchConsumer
      ? {
          async consumeBatch(ms: readonly number[]) {
            observe();
            await delay(Math.random() < 0.1 ? 1 : 0);
            finished += ms.length;
          },
        }
      : {}),
  };
  const q = new Queue<number>(
    () => ({
      produce() {
        observe();
        if (next >= options.total) return undefined;
        const out: number[] = [];
        for (let i = 0; i < options.batch && next < options.total; i++) out.push(next++);
        observe();
        return options.batch === 1 ? out[0] : out;
      },
    }),
    () => consumer,
    {
      producers: options.producers,
      consumers: options.consumers,
      capacity: options.capacity,
      batchSize: options.batchSize,
      idleDelayMs: 1,
      ...(options.keyed ? { keyOf: (m: number) => Math.floor(m / 10) % 4 } : {}),
    },
  );
  const done = q.start();
  while (finished < options.total) await delay(5);
  await q.stop();
  await done;
  return max;
}

describe('bounded memory', () => {
  for (const c of [
    // Keyed: a consumer holds a run of up to batchSize, and at most `consumers` runs wait parked.
    { capacity: 32, producers: 2, consumers: 3, batch: 20, batchConsumer: false, batchSize: 8, keyed: true },
    { capacity: 0, producers: 2, consumers: 3, batch: 1, batchConsumer: false, batchSize: 1 },
    { capacity: 16, producers: 3, consumers: 4, batch: 1, batchConsumer: false, batchSize: 1 },
    { capacity: 64, producers: 2, consumers: 4, batch: 50, batchConsumer: false, batchSize: 1 },
    { capacity: 100, producers: 2, consumers: 3, batch: 40, batchConsumer: true, batchSize: 32 },
    { capacity: 0, producers: 2, consumers: 2, batch: 25, batchConsumer: true, batchSize: 10 },
  ]) {
    const perConsumer = c.batchConsumer ? c.batchSize : 1;
    const bound =
      c.capacity + c.producers * c.batch + (c.keyed ? 2 * c.consumers * c.batchSize : c.consumers * perConsumer);
    it(`capacity ${c.capacity}, ${c.producers} producers x ${c.batch}, ${c.consumers} consumers x ${c.keyed ? `runs of ${c.batchSize}, keyed` : perConsumer}: held <= ${bound}`, async () => {
      const held = await maxHeld({ ...c, total: 4000 });
      expect(held).toBeLessThanOrEqual(bound);
      // The pipeline did fill up: the bound is tested, not trivially met.
      expect(held).toBeGreaterThan(c.capacity);
    });
  }
});
