import { join } from 'node:path';
import { openLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { HttpDeliverer } from '../src/deliverer/http-deliverer.js';
import { deadUrl, startTarget, tempDir } from './deliverer-target.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('review C: a record whose park copy cannot be stored', () => {
  it('defect "one unparkable record blocks parking": headers near the 64 KiB limit (its park copy is refused) do not stop every other record from being parked', async () => {
    const tmp = await tempDir('q-http-review-c-big-');
    cleanups.push(() => tmp.remove());
    const log = await openLog({ dir: join(tmp.dir, 'log') });
    cleanups.push(() => log.close());
    const live = await startTarget();
    cleanups.push(() => live.close());
    const down = await deadUrl('/down');
    const total = 200;
    // Valid in the main log (just under @q/log's 65,535 bytes of headers); its park copy adds q-id and q-park-*.
    const big = 'x'.repeat(65_535 - 4 - 'q-h-x-big'.length - 4 - 'q-url'.length - down.length - 8);
    await log.appendBatch(
      Array.from({ length: total }, (_, seq) => {
        const headers: Record<string, string> = { 'q-url': seq % 2 === 0 ? down : live.url('/live') };
        if (seq === 0) headers['q-h-x-big'] = big;
        return { body: JSON.stringify({ seq }), headers };
      }),
    );
    const deliverer = new HttpDeliverer({
      log,
      deadLetterDir: join(tmp.dir, 'dead-letter'),
      parkDir: join(tmp.dir, 'parked'),
      maxUnfinished: 20,
      engine: {
        concurrency: 16,
        retry: { maxAttempts: 1_000_000, minDelayMs: 50, maxDelayMs: 200, factor: 2, maxAgeMs: 3_600_000 },
        circuit: { failureThreshold: 1_000_000, openMs: 1_000 },
      },
    });
    deliverer.on('error', () => undefined);
    cleanups.push(() => deliverer.close());
    await deliverer.start();
    const liveDone = (): boolean => {
      for (let seq = 1; seq < total; seq += 2) if (live.okCount(`q_${seq}`) === 0) return false;
      return true;
    };
    await until(liveDone, 15_000, 'every live record delivered');
    expect(deliverer.stats().parked).toBeGreaterThan(0);
  }, 40_000);
});
