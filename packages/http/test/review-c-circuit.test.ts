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

describe('review C: parking with the circuit breaker on (its defaults)', () => {
  it('defect "open circuit holds the window": a down endpoint whose circuit opened still does not stop the others', async () => {
    const tmp = await tempDir('q-http-review-c-');
    cleanups.push(() => tmp.remove());
    const log = await openLog({ dir: join(tmp.dir, 'log') });
    cleanups.push(() => log.close());
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
    const deliverer = new HttpDeliverer({
      log,
      deadLetterDir: join(tmp.dir, 'dead-letter'),
      parkDir: join(tmp.dir, 'parked'),
      maxUnfinished: 200,
      engine: {
        concurrency: 16,
        // The default circuit: 5 failures open it for 30 s; retries due meanwhile wait behind it.
        retry: { maxAttempts: 1_000_000, minDelayMs: 50, maxDelayMs: 200, factor: 2, maxAgeMs: 3_600_000 },
      },
    });
    cleanups.push(() => deliverer.close());
    await deliverer.start();
    const liveDone = (): boolean => {
      for (let seq = 1; seq < total; seq += 2) if (live.okCount(`q_${seq}`) === 0) return false;
      return true;
    };
    await until(liveDone, 15_000, 'every live record delivered while the down endpoint circuit is open');
    expect(deliverer.stats().parked).toBeGreaterThan(0);
    expect(deliverer.stats().deadLetters).toBe(0);
  }, 40_000);
});
