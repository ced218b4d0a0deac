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

async function setup(prefix: string) {
  const tmp = await tempDir(prefix);
  cleanups.push(() => tmp.remove());
  const log = await openLog({ dir: join(tmp.dir, 'log') });
  cleanups.push(() => log.close());
  return { tmp, log };
}

describe('HttpDeliverer with an endpoint down', () => {
  it('delivers every record of the healthy endpoint while another is down for the whole run; the cursor stays below the first unfinished record', async () => {
    const { tmp, log } = await setup('q-http-down-');
    const up = await startTarget();
    cleanups.push(() => up.close());
    const down = await deadUrl();
    const total = 2_000;
    await log.appendBatch(
      Array.from({ length: total }, (_, seq) => ({
        body: JSON.stringify({ seq }),
        headers: {
          'q-url': seq % 2 === 0 ? up.url('/up') : down,
          ...(seq % 6 === 0 ? { 'q-key': `k${seq % 5}` } : {}),
        },
      })),
    );
    const deliverer = new HttpDeliverer({
      log,
      deadLetterDir: join(tmp.dir, 'dead-letter'),
      engine: { concurrency: 8, connectTimeoutMs: 500, retry: { maxAttempts: 1_000, minDelayMs: 10, maxDelayMs: 200 } },
    });
    cleanups.push(() => deliverer.close());
    await deliverer.start();
    const upIds = Array.from({ length: total / 2 }, (_, i) => `q_${2 * i}`);
    // The target counts a request when it answers it, a little before the deliverer reads the answer: wait
    // for both, or a poll falling between the two (likelier on a loaded machine) sees one record unfinished.
    await until(
      () => upIds.every((id) => up.okCount(id) === 1) && deliverer.stats().delivered >= total / 2,
      30_000,
      'every record of the healthy endpoint',
    );
    const stats = deliverer.stats();
    expect(stats.delivered).toBe(total / 2);
    expect(stats.deadLettered).toBe(0);
    expect(stats.unfinished).toBe(total / 2);
    expect(stats.cursor).toBe(1);
    expect(stats.endpoints.find((e) => e.url === down)?.failedAttempts).toBeGreaterThan(0);
    await deliverer.close({ timeoutMs: 200 });
    expect((await log.cursor('http')).position).toBe(1);
    expect(up.received.length).toBe(total / 2);
  });

  it('reads no further than maxUnfinished records ahead of the first unfinished one (back-pressure)', async () => {
    const { tmp, log } = await setup('q-http-pressure-');
    const hanging = await startTarget({ faults: { hang: 1 } });
    cleanups.push(() => hanging.close());
    await log.appendBatch(
      Array.from({ length: 500 }, (_, seq) => ({ body: `{"seq":${seq}}`, headers: { 'q-url': hanging.url('/slow') } })),
    );
    const deliverer = new HttpDeliverer({
      log,
      deadLetterDir: join(tmp.dir, 'dead-letter'),
      maxUnfinished: 20,
      engine: { concurrency: 4, timeoutMs: 60_000 },
    });
    cleanups.push(() => deliverer.close());
    await deliverer.start();
    await until(() => hanging.received.length === 4, 10_000, 'the attempts in flight');
    await until(() => deliverer.stats().unfinished === 20, 10_000, 'the unfinished bound');
    const stats = deliverer.stats();
    expect(stats.backlog).toBe(500);
    expect(stats.cursor).toBe(0);
    await deliverer.close({ timeoutMs: 100 });
    expect(deliverer.stats().unfinished).toBeLessThanOrEqual(20);
    expect((await log.cursor('http')).position).toBe(0);
  });
});
