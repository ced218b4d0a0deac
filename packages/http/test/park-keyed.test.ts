import { join } from 'node:path';
import { silentLogger } from '@q/core';
import { openLog, type SegmentLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { HttpDeliverer } from '../src/deliverer/http-deliverer.js';
import type { DeliveryItem, DeliveryResult } from '../src/delivery/types.js';
import { deadUrl, firstArrivalsByKey, reviveOn, startTarget, tempDir } from './deliverer-target.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(): Promise<{ log: SegmentLog; dir: string }> {
  const tmp = await tempDir('q-http-park-keyed-');
  cleanups.push(() => tmp.remove());
  const log = await openLog({ dir: join(tmp.dir, 'log') });
  cleanups.push(() => log.close());
  return { log, dir: tmp.dir };
}

const NO_CIRCUIT = { failureThreshold: 1_000_000, openMs: 1_000 };
const KEYS = 20;

describe('parking keyed records (keyOf)', () => {
  it('defect "keyed records are never parked": a down endpoint with keyed records does not stop the others, and each key keeps its order once it is back', async () => {
    const { log, dir } = await setup();
    const live = await startTarget();
    cleanups.push(() => live.close());
    const down = await deadUrl('/down');
    const total = 2_000;
    // Even seqs go to the down endpoint, odd ones to the live one; every record has a key (seq % 20), so
    // the down endpoint's records are each its key's head or waiting behind one.
    await log.appendBatch(
      Array.from({ length: total }, (_, seq) => ({
        body: JSON.stringify({ seq }),
        headers: { 'q-url': seq % 2 === 0 ? down : live.url('/live'), 'q-key': `${seq % 2}-${seq % KEYS}` },
      })),
    );
    const dead: DeliveryResult[] = [];
    const deliverer = new HttpDeliverer({
      log,
      deadLetterDir: join(dir, 'dead-letter'),
      parkDir: join(dir, 'parked'),
      maxUnfinished: 200,
      logger: silentLogger,
      engine: {
        concurrency: 16,
        retry: { maxAttempts: 1_000_000, minDelayMs: 50, maxDelayMs: 200, factor: 2, maxAgeMs: 3_600_000 },
        circuit: NO_CIRCUIT,
      },
    });
    deliverer.on('dead-letter', (_item: DeliveryItem, result: DeliveryResult) => dead.push(result));
    cleanups.push(() => deliverer.close());
    await deliverer.start();
    // Without keyed parking the down endpoint's 1,000 keyed records fill the window of 200 near seq 400,
    // and every live record behind them waits for the down endpoint.
    await until(
      () => {
        for (let seq = 1; seq < total; seq += 2) if (live.okCount(`q_${seq}`) === 0) return false;
        return true;
      },
      30_000,
      'every live record delivered while the other endpoint is down',
    );
    const whileDown = deliverer.stats();
    expect(whileDown.parked).toBeGreaterThan(0);

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
    // Per key, the down endpoint's records arrived in the order they were appended.
    for (const [key, seqs] of firstArrivalsByKey(target.order, (n) => n % KEYS)) {
      expect(seqs, `key ${key}`).toEqual([...seqs].sort((a, b) => a - b));
      expect(seqs.length, `key ${key}`).toBe(total / KEYS);
    }
    const after = deliverer.stats();
    console.log(
      `park keyed: while down, parked ${whileDown.parked}, cursor ${whileDown.cursor}/${total}; after, parked ${after.parked}, delivered ${after.delivered}, requests at the revived target ${target.order.length}`,
    );
  }, 90_000);
});
