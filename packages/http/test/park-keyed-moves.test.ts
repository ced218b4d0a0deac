import { join } from 'node:path';
import { silentLogger } from '@q/core';
import { openLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { HttpDeliverer } from '../src/deliverer/http-deliverer.js';
import { parkRecord } from '../src/deliverer/park-record.js';
import { deadUrl, firstArrivalsByKey, reviveOn, startTarget, tempDir } from './deliverer-target.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('the park run moves keyed records', () => {
  it('defect "keyed park records hold the park run\'s window": a down endpoint\'s keyed records do not stop the parked retries of other endpoints, and each key keeps its order', async () => {
    const tmp = await tempDir('q-http-park-moves-');
    cleanups.push(() => tmp.remove());
    const healthy = await startTarget();
    cleanups.push(() => healthy.close());
    const down = await deadUrl('/down');
    const parkDir = join(tmp.dir, 'parked');
    const park = await openLog({ dir: parkDir });
    const now = Date.now();
    const keyed = 200;
    const keys = 20;
    // What a live run parked earlier: 200 keyed records of a down endpoint, then 50 keyless retries of a
    // healthy one, all due now. The park run's window (50) holds keyed records only, at first.
    await park.appendBatch([
      ...Array.from({ length: keyed }, (_, n) =>
        parkRecord(
          { id: `d_${n}`, url: down, key: `k${n % keys}`, body: Buffer.from(`${n}`) },
          { attempts: 1, nextAttemptAt: now, cause: 'ECONNREFUSED' },
        ),
      ),
      ...Array.from({ length: 50 }, (_, n) =>
        parkRecord(
          { id: `h_${n}`, url: healthy.url('/h'), body: Buffer.from(`${n}`) },
          { attempts: 1, nextAttemptAt: now, cause: 'HTTP 503' },
        ),
      ),
    ]);
    await park.close();
    const log = await openLog({ dir: join(tmp.dir, 'log') });
    cleanups.push(() => log.close());
    const deliverer = new HttpDeliverer({
      log,
      deadLetterDir: join(tmp.dir, 'dead-letter'),
      parkDir,
      maxUnfinished: 50,
      logger: silentLogger,
      engine: {
        retry: { maxAttempts: 1_000_000, minDelayMs: 20, maxDelayMs: 100, factor: 2, maxAgeMs: 3_600_000 },
        circuit: { failureThreshold: 1_000_000, openMs: 1_000 },
      },
    });
    cleanups.push(() => deliverer.close({ timeoutMs: 1_000 }));
    await deliverer.start();
    await until(
      () => {
        for (let n = 0; n < 50; n++) if (healthy.okCount(`h_${n}`) === 0) return false;
        return true;
      },
      20_000,
      "the healthy endpoint's parked retries delivered while the keyed records of the down one wait",
    );
    const revived = await reviveOn(Number(new URL(down).port));
    cleanups.push(() => revived.close());
    await until(
      () => {
        for (let n = 0; n < keyed; n++) if (revived.okCount(`d_${n}`) === 0) return false;
        return deliverer.stats().parkedBacklog === 0;
      },
      30_000,
      'every keyed record delivered once the endpoint is back',
    );
    const byKey = firstArrivalsByKey(revived.order, (n) => n % keys);
    for (const [key, ns] of byKey) expect(ns, `key k${key}`).toEqual([...ns].sort((a, b) => a - b));
    expect(deliverer.stats().deadLetters).toBe(0);
    console.log(
      `park moves: ${deliverer.stats().parked} park appends, ${revived.order.length} requests at the revived endpoint`,
    );
  }, 60_000);
});
