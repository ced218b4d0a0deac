import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Queue, silentLogger } from '@q/core';
import { describe, expect, it } from 'vitest';
import { delay, until } from './helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Msg {
  readonly id: number;
  readonly key: string;
}

/**
 * Review K: a Backlog parks ranges `[start, end)` of the arrays messages were taken in, and keeps
 * the whole array alive until the range is shifted. One parked message of a busy key thus keeps
 * its whole taken batch alive: every other message of that batch was consumed and settled long
 * ago, yet stays in memory. docs/queue.md promises that memory stays bounded by the channel, a run
 * per consumer and fewer than max(capacity, batchSize) + batchSize messages in backlogs; here the
 * backlogs keep ~batchSize times that.
 */
describe('review K: key backlogs and the arrays they point into', () => {
  it('messages already consumed and settled are not kept alive by a range parked behind a busy key', async () => {
    const BATCH = 64;
    let release: () => void = () => {};
    const blocked = new Promise<void>((resolve) => {
      release = resolve;
    });
    const alive: WeakRef<Msg>[] = [];
    const consumedIds = new Set<number>();
    let next = 0;
    let batches = 0;
    const queue = new Queue<Msg>(
      () => ({
        produce() {
          if (batches >= 200) return undefined;
          batches++;
          // Each batch: one message of the busy key first, then 63 of keys of their own.
          const out: Msg[] = [];
          for (let i = 0; i < BATCH; i++) {
            const m: Msg = { id: next++, key: i === 0 ? 'busy' : `k${next}` };
            alive.push(new WeakRef(m));
            out.push(m);
          }
          return out;
        },
        settle(m, outcome) {
          if (outcome.type === 'consumed') consumedIds.add(m.id);
        },
      }),
      () => ({
        consume() {},
        async consumeBatch(ms: readonly Msg[]) {
          if (ms.some((m) => m.key === 'busy')) await blocked;
        },
      }),
      {
        producers: 1,
        consumers: 2,
        capacity: BATCH,
        batchSize: BATCH,
        keyOf: (m) => m.key,
        statsIntervalMs: 0,
        idleDelayMs: 1,
        logger: silentLogger,
      },
    );
    const running = queue.start();
    // One consumer holds 'busy' (its first call blocks); the other parks each batch's 'busy' message
    // with it and consumes the other 63, until the backlogs are full (back-pressure).
    await until(() => queue.stats().parked >= BATCH, 5_000);
    await delay(50);
    const parked = queue.stats().parked;
    for (let i = 0; i < 5; i++) {
      gc();
      await delay(5);
    }
    // Settled (consumed) messages that something still keeps alive.
    let retained = 0;
    for (const ref of alive) {
      const m = ref.deref();
      if (m !== undefined && consumedIds.has(m.id)) retained++;
    }
    release();
    await queue.stop();
    await running;
    expect({ parked, consumed: consumedIds.size > 0 }).toEqual({ parked, consumed: true });
    // Allow a batch's worth for whatever a loop still has on its stack.
    expect(retained).toBeLessThanOrEqual(BATCH);
  });
});
