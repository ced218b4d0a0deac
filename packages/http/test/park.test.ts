import { join } from 'node:path';
import { openLog, type SegmentLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { delay, until } from '../../../test-support/wait.js';
import { HttpDeliverer } from '../src/deliverer/http-deliverer.js';
import type { DeliveryItem, DeliveryResult } from '../src/delivery/types.js';
import { deadUrl, reviveOn, startTarget, tempDir } from './deliverer-target.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(): Promise<{ log: SegmentLog; dir: string }> {
  const tmp = await tempDir('q-http-park-');
  cleanups.push(() => tmp.remove());
  const log = await openLog({ dir: join(tmp.dir, 'log') });
  cleanups.push(() => log.close());
  return { log, dir: tmp.dir };
}

/** No circuit opening: a down endpoint's items wait on their retry timers (what parking takes). */
const NO_CIRCUIT = { failureThreshold: 1_000_000, openMs: 1_000 };

describe('HttpDeliverer parking (parkDir)', () => {
  it('a down endpoint does not stop the others: its records are parked, then delivered with their ids', async () => {
    const { log, dir } = await setup();
    const live = await startTarget();
    cleanups.push(() => live.close());
    const down = await deadUrl('/down');
    const total = 1_000;
    await log.appendBatch(
      Array.from({ length: total }, (_, seq) => ({
        body: JSON.stringify({ seq }),
        headers: { 'q-url': seq % 2 === 0 ? down : live.url('/live') },
      })),
    );
    const dead: DeliveryResult[] = [];
    const deliverer = new HttpDeliverer({
      log,
      deadLetterDir: join(dir, 'dead-letter'),
      parkDir: join(dir, 'parked'),
      maxUnfinished: 200,
      engine: {
        concurrency: 16,
        retry: { maxAttempts: 1_000_000, minDelayMs: 50, maxDelayMs: 200, factor: 2, maxAgeMs: 3_600_000 },
        circuit: NO_CIRCUIT,
      },
    });
    deliverer.on('dead-letter', (_item: DeliveryItem, result: DeliveryResult) => dead.push(result));
    cleanups.push(() => deliverer.close());
    await deliverer.start();
    const liveDone = (): boolean => {
      for (let seq = 1; seq < total; seq += 2) if (live.okCount(`q_${seq}`) === 0) return false;
      return true;
    };
    // Without parking, 200 down records would fill the window near seq 400 and stop every live one behind.
    await until(liveDone, 30_000, 'every live record delivered');
    // Parking happens only while the window is full: once the log's end is read and the live records
    // finished, the down records still in the window (fewer than 200) stay there; the cursor waits below them.
    expect(deliverer.stats().cursor).toBeGreaterThan(0);
    const parkedWhileDown = deliverer.stats().parked;
    expect(parkedWhileDown).toBeGreaterThan(0);
    const cursorWhileDown = deliverer.stats().cursor;

    const target = await reviveOn(Number(new URL(down).port));
    cleanups.push(() => target.close());
    await until(
      () => {
        for (let seq = 0; seq < total; seq += 2) if (target.okCount(`q_${seq}`) === 0) return false;
        return true;
      },
      30_000,
      'every parked record delivered',
    );
    await until(
      () => deliverer.stats().parkedBacklog === 0 && deliverer.stats().cursor === total,
      10_000,
      'both cursors at the end',
    );
    expect(dead).toEqual([]);
    expect(deliverer.stats().deadLetters).toBe(0);
    const after = deliverer.stats();
    console.log(
      `park (a): while down, parked ${parkedWhileDown}, main cursor ${cursorWhileDown}/${total}; after recovery, parked ${after.parked}, delivered ${after.delivered}`,
    );
  }, 60_000);

  it('maxAttempts counts across parkings: an always-500 endpoint ends every record with 6 attempts', async () => {
    const { log, dir } = await setup();
    const target = await startTarget({ faults: { fail500: 1 } });
    cleanups.push(() => target.close());
    const total = 40;
    await log.appendBatch(
      Array.from({ length: total }, (_, seq) => ({ body: `{"seq":${seq}}`, headers: { 'q-url': target.url('/500') } })),
    );
    const dead = new Map<string, DeliveryResult>();
    const deliverer = new HttpDeliverer({
      log,
      deadLetterDir: join(dir, 'dead-letter'),
      parkDir: join(dir, 'parked'),
      maxUnfinished: 4,
      engine: {
        retry: { maxAttempts: 6, minDelayMs: 20, maxDelayMs: 60, factor: 2, maxAgeMs: 3_600_000 },
        circuit: NO_CIRCUIT,
      },
    });
    deliverer.on('dead-letter', (item: DeliveryItem, result: DeliveryResult) => dead.set(item.id, result));
    cleanups.push(() => deliverer.close());
    await deliverer.start();
    await until(() => dead.size === total, 40_000, 'every record dead-lettered');
    for (let seq = 0; seq < total; seq++) {
      const result = dead.get(`q_${seq}`);
      expect(result, `q_${seq}`).toMatchObject({ outcome: 'dead-lettered', reason: 'attempts', attempts: 6 });
    }
    await until(
      () => deliverer.stats().cursor === total && deliverer.stats().parkedBacklog === 0,
      10_000,
      'both cursors at the end',
    );
    const stats = deliverer.stats();
    expect(stats.parked).toBeGreaterThan(0);
    expect(stats.deadLetters).toBe(total);
    // Six attempts each, never more: parking neither lost nor repeated any.
    expect(target.received.length).toBe(total * 6);
    console.log(`park (b): parked ${stats.parked}, requests ${target.received.length}`);
  }, 60_000);

  it('no spin: while the endpoint is down, a parked record comes back only at its retry time', async () => {
    const { log, dir } = await setup();
    const down = await deadUrl('/down');
    const total = 100;
    await log.appendBatch(Array.from({ length: total }, (_, seq) => ({ body: `${seq}`, headers: { 'q-url': down } })));
    const deliverer = new HttpDeliverer({
      log,
      deadLetterDir: join(dir, 'dead-letter'),
      parkDir: join(dir, 'parked'),
      maxUnfinished: 20,
      engine: {
        retry: { maxAttempts: 1_000_000, minDelayMs: 500, maxDelayMs: 1_000, factor: 2, maxAgeMs: 3_600_000 },
        circuit: NO_CIRCUIT,
      },
    });
    cleanups.push(() => deliverer.close());
    await deliverer.start();
    await until(() => deliverer.stats().cursor >= total - 20, 20_000, 'the main cursor passing the parked records');
    await delay(2_000);
    const stats = deliverer.stats();
    // Every record beyond the first window was parked at least once; a spinning park would append thousands.
    expect(stats.parked).toBeGreaterThanOrEqual(total - 20);
    expect(stats.parked).toBeLessThan(10 * total);
    expect(stats.delivered + stats.deadLettered).toBe(0);
    console.log(`park (c): ${stats.parked} park appends for ${total} records in 2 s down`);
  }, 60_000);
});
