// Review E: close() waits for `drained` (every deliver() of this deliverer, retries included) or for
// engine.idle() (no attempt in flight in the whole engine). On an engine shared with a busy deliverer the
// engine is never idle, so a record of this deliverer waiting for its retry holds close() to its whole
// deadline: the defect 54ff113 fixed for an own engine ("close waits out its whole deadline") is still there.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { silentLogger } from '@q/core';
import { openLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { HttpDeliverer } from '../src/deliverer/http-deliverer.js';
import { DeadLetters } from '../src/delivery/dead-letters.js';
import { DeliveryEngine } from '../src/delivery/delivery-engine.js';
import { tempDir } from './deliverer-target.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('review E: close of a deliverer on an engine shared with a busy one', () => {
  it('defect "shared-engine close waits out its deadline": returns once its own attempts ended, though the other deliverer keeps the engine busy', async () => {
    const tmp = await tempDir('q-http-review-e-shared-');
    cleanups.push(() => tmp.remove());
    let aHits = 0;
    // /a is down (its record waits 60 s for a retry); /b answers slowly, so b always has an attempt in flight.
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url === '/a') {
          aHits++;
          res.writeHead(503).end('down');
        } else setTimeout(() => res.writeHead(200).end('ok'), 50);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    });
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const deadLetters = await DeadLetters.open({ dir: join(tmp.dir, 'dead-letter'), logger: silentLogger });
    cleanups.push(() => deadLetters.close());
    const engine = new DeliveryEngine({
      deadLetters,
      logger: silentLogger,
      concurrency: 2,
      retry: { maxAttempts: 100, minDelayMs: 60_000, maxDelayMs: 60_000 },
    });
    cleanups.push(() => engine.close({ timeoutMs: 1_000 }));
    const logA = await openLog({ dir: join(tmp.dir, 'a') });
    cleanups.push(() => logA.close());
    const logB = await openLog({ dir: join(tmp.dir, 'b') });
    cleanups.push(() => logB.close());
    await logA.append('{"a":1}');
    await logB.appendBatch(Array.from({ length: 2_000 }, (_, n) => ({ body: `{"b":${n}}` })));
    const a = new HttpDeliverer({ log: logA, engine, url: `${origin}/a`, idPrefix: 'a', logger: silentLogger });
    const b = new HttpDeliverer({ log: logB, engine, url: `${origin}/b`, idPrefix: 'b', logger: silentLogger });
    cleanups.push(() => b.close({ timeoutMs: 1_000 }));
    await Promise.all([a.start(), b.start()]);
    await until(() => aHits === 1 && b.stats().delivered > 0, 10_000, 'a failed once, b delivering');
    // Nothing of a's is in flight now: its one record waits 60 s for its retry.
    const t0 = performance.now();
    await a.close({ timeoutMs: 12_000 });
    const closeMs = Math.round(performance.now() - t0);
    expect(b.stats().state).toBe('running');
    expect(closeMs, `a.close() took ${closeMs} ms of its 12000 ms deadline`).toBeLessThan(4_000);
  }, 30_000);
});
