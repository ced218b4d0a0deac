import { join } from 'node:path';
import { silentLogger } from '@q/core';
import { openLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { HttpDeliverer } from '../src/deliverer/http-deliverer.js';
import { tempDir } from './deliverer-target.js';
import { startTarget } from './engine-target.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('HttpDeliverer.close with records waiting for their retry', () => {
  it('defect "close waits out its whole deadline": returns once nothing is in flight, and the next start sends what waited', async () => {
    const tmp = await tempDir('q-http-close-waiting-');
    cleanups.push(() => tmp.remove());
    const log = await openLog({ dir: join(tmp.dir, 'log') });
    cleanups.push(() => log.close());
    let up = false;
    const target = await startTarget(() => (up ? 200 : 503));
    cleanups.push(() => target.close());
    const total = 20;
    await log.appendBatch(
      Array.from({ length: total }, (_, n) => ({ body: `{"n":${n}}`, headers: { 'q-url': target.url } })),
    );
    const options = {
      log,
      deadLetterDir: join(tmp.dir, 'dead-letter'),
      logger: silentLogger,
      engine: {
        retry: { maxAttempts: 100, minDelayMs: 60_000, maxDelayMs: 60_000 },
        circuit: { failureThreshold: 1_000, openMs: 60_000 },
      },
    };
    const first = new HttpDeliverer(options);
    await first.start();
    await until(() => target.hits.length >= total, 10_000);
    // Every record now waits 60 s for its retry: nothing is in flight, so close has nothing to wait for.
    const t0 = performance.now();
    await first.close({ timeoutMs: 20_000 });
    const closeMs = performance.now() - t0;
    expect(closeMs, `close took ${Math.round(closeMs)} ms`).toBeLessThan(5_000);
    expect(first.stats().delivered).toBe(0);

    up = true;
    const second = new HttpDeliverer(options);
    cleanups.push(() => second.close({ timeoutMs: 1_000 }));
    let delivered = 0;
    second.on('delivered', () => delivered++);
    await second.start();
    await until(() => delivered === total, 10_000);
    const ids = new Set(target.hits.slice(total).map((h) => h.headers['webhook-id']));
    expect(ids.size).toBe(total);
  }, 60_000);
});
