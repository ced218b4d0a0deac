import { Queue, silentLogger } from '@q/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { delay, numberSource } from './helpers.js';

/**
 * Keyed `consumeBatch`: a batch holds its keys for its call, messages of a held key park with the
 * holder, and the holder works through them before letting its keys go. Checked against the model:
 * per key, calls see that key's messages in produce order, and never two calls with one key at once.
 */
describe('keyed consumeBatch', () => {
  it('per key: produce order, no two calls at once, every message consumed once (random keys, delays, consumers)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          n: fc.integer({ min: 1, max: 400 }),
          keys: fc.integer({ min: 1, max: 40 }),
          consumers: fc.integer({ min: 1, max: 6 }),
          batchSize: fc.integer({ min: 1, max: 32 }),
          producerBatch: fc.integer({ min: 1, max: 16 }),
          capacity: fc.integer({ min: 0, max: 64 }),
          slowEvery: fc.integer({ min: 2, max: 20 }),
          seed: fc.integer(),
        }),
        async (s) => {
          const { producer, log } = numberSource(s.n, { batch: s.producerBatch });
          const busy = new Set<number>();
          const seen = new Map<number, number>();
          const violations: string[] = [];
          let rnd = s.seed;
          const random = (): number => {
            rnd = (Math.imul(rnd, 1103515245) + 12345) | 0;
            return ((rnd >>> 8) & 0xffff) / 0x10000;
          };
          const keyOf = (m: number): number => m % s.keys;
          const queue = new Queue<number>(
            () => producer,
            () => ({
              consume: () => {
                violations.push('consume called in keyed batch mode');
              },
              async consumeBatch(batch: readonly number[]) {
                const keys = new Set(batch.map(keyOf));
                for (const k of keys) {
                  if (busy.has(k)) violations.push(`key ${k} in two calls at once`);
                  busy.add(k);
                }
                for (const m of batch) {
                  const k = keyOf(m);
                  const last = seen.get(k) ?? -1;
                  if (m <= last) violations.push(`key ${k}: ${m} after ${last}`);
                  seen.set(k, m);
                }
                if (batch.some((m) => m % s.slowEvery === 0)) await delay(Math.floor(random() * 3));
                else await Promise.resolve();
                for (const k of keys) busy.delete(k);
              },
            }),
            {
              consumers: s.consumers,
              batchSize: s.batchSize,
              capacity: s.capacity,
              keyOf,
              statsIntervalMs: 0,
              logger: silentLogger,
            },
          );
          const running = queue.start();
          const deadline = Date.now() + 10_000;
          while (log.outcomes.size < s.n && Date.now() < deadline) await delay(2);
          await queue.stop();
          await running;
          expect(violations).toEqual([]);
          expect(log.ofType('consumed').length).toBe(s.n);
          expect(log.duplicates()).toEqual([]);
          expect(queue.stats().parked).toBe(0);
        },
      ),
      { numRuns: 150, verbose: 1 },
    );
  }, 120_000);

  it('string keys share slots only by hash: serialized, never reordered', async () => {
    const n = 3000;
    const { producer, log } = numberSource(n, { batch: 64 });
    const order = new Map<string, number[]>();
    const queue = new Queue<number>(
      () => producer,
      () => ({
        consume: () => {},
        async consumeBatch(batch: readonly number[]) {
          for (const m of batch) {
            const k = `account-${m % 500}`;
            const list = order.get(k) ?? [];
            list.push(m);
            order.set(k, list);
          }
          await Promise.resolve();
        },
      }),
      { consumers: 4, batchSize: 64, keyOf: (m) => `account-${m % 500}`, statsIntervalMs: 0, logger: silentLogger },
    );
    const running = queue.start();
    while (log.outcomes.size < n) await delay(2);
    await queue.stop();
    await running;
    for (const list of order.values()) expect(list).toEqual([...list].sort((a, b) => a - b));
    expect(log.ofType('consumed').length).toBe(n);
  });
});
