import { type Producer, Queue, silentLogger } from '@q/core';
import { describe, expect, it } from 'vitest';
import { delay, SettleLog } from './helpers.js';

// With `keyOf`, runs of a busy key wait in that key's backlog. The backlogs are bounded by messages
// (max(capacity, batchSize)), so one slow key holds back only its own messages: a bound counted in
// parked runs of every key (at most `consumers` of them) let a handful of one slow key's messages
// stop every consumer.

describe('key backlogs', () => {
  it('one slow key holds back only its own messages: every other key flows while it is busy', async () => {
    const slowKey = 0;
    const slowMs = 2000;
    const keyOf = (m: number): number => m % 100;
    // 1,100 messages of 99 other keys, and ten of the slow key among the first twenty (one taken by
    // its holder, nine parked behind it: more parked runs than consumers).
    const slow = Array.from({ length: 10 }, (_, i) => i * 100);
    const fast: number[] = [];
    for (let m = 1; fast.length < 1100; m++) if (keyOf(m) !== slowKey) fast.push(m);
    const messages = [...slow.flatMap((s, i) => [s, fast[i] as number]), ...fast.slice(slow.length)];

    const log = new SettleLog<number>();
    let next = 0;
    const producer: Producer<number> = {
      async produce(signal) {
        if (next >= messages.length) {
          await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
          return undefined;
        }
        const batch = messages.slice(next, next + 100);
        next += batch.length;
        return batch;
      },
      settle: (m, outcome) => log.record(m, outcome),
    };
    let fastDone = 0;
    let slowDone = 0;
    const q = new Queue<number>(
      () => producer,
      () => ({
        async consume(m, { signal }) {
          if (keyOf(m) !== slowKey) {
            await new Promise((resolve) => setImmediate(resolve));
            fastDone++;
            return;
          }
          // Two seconds per message of the slow key (cut short only by the stop deadline).
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, slowMs);
            signal.addEventListener('abort', () => {
              clearTimeout(t);
              resolve();
            });
          });
          slowDone++;
        },
      }),
      { producers: 1, consumers: 8, capacity: 1024, keyOf, logger: silentLogger, statsIntervalMs: 0 },
    );
    const started = performance.now();
    const done = q.start();
    // The others take about 200 ms; the bound leaves room for a loaded machine.
    while (fastDone < fast.length && performance.now() - started < 1500) await delay(5);
    const elapsed = performance.now() - started;
    // The slow key's first message is still running: everything else got through meanwhile.
    expect({ fastDone, slowDone, slowKeyStillBusy: elapsed < slowMs }).toEqual({
      fastDone: fast.length,
      slowDone: 0,
      slowKeyStillBusy: true,
    });

    // The stop deadline at once: the slow key's message in hand and its backlog go back, nacked.
    await q.stop({ timeoutMs: 0 });
    await done;
    expect(log.duplicates()).toEqual([]);
    expect(log.outcomes.size).toBe(messages.length);
    expect(log.ofType('consumed').sort((a, b) => a - b)).toEqual([...fast].sort((a, b) => a - b));
    expect(log.ofType('nacked').sort((a, b) => a - b)).toEqual(slow);
    const stats = q.stats();
    expect({ consumed: stats.consumed, nacked: stats.nacked, inFlight: stats.inFlight, parked: stats.parked }).toEqual({
      consumed: fast.length,
      nacked: slow.length,
      inFlight: 0,
      parked: 0,
    });
  });
});
