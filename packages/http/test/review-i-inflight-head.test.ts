// Review I: close() on a shared engine takes back keyed lines only once, right after stopping. A key's head
// that is in flight at that moment and then fails waits for its retry like any other, but nobody takes it
// back: close() waits out its whole deadline, and after it the shared engine sends the key's whole line
// (which the next start sends again). docs/http.md says the line stays in the engine only "when its head is
// still being sent at the deadline"; here it was waiting for its retry long before the deadline.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { silentLogger } from '@q/core';
import { openLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { delay, until } from '../../../test-support/wait.js';
import { HttpDeliverer } from '../src/deliverer/http-deliverer.js';
import { DeadLetters } from '../src/delivery/dead-letters.js';
import { DeliveryEngine } from '../src/delivery/delivery-engine.js';
import { tempDir } from './deliverer-target.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('review I: close() on a shared engine, a keyed head in flight at close', () => {
  it('the head fails during close and waits for its retry: its line is taken back too (close returns early, the engine sends nothing after it)', async () => {
    const tmp = await tempDir('q-http-review-i-inflight-');
    cleanups.push(() => tmp.remove());
    let up = false;
    const hits: Array<{ id: string; ok: boolean; at: number }> = [];
    // Every answer comes 300 ms late: the first attempt is in flight when close() starts.
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        setTimeout(() => {
          hits.push({ id: String(req.headers['webhook-id']), ok: up, at: Date.now() });
          res.writeHead(up ? 200 : 503).end();
        }, 300);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/a`;
    const deadLetters = await DeadLetters.open({ dir: join(tmp.dir, 'dead-letter'), logger: silentLogger });
    cleanups.push(() => deadLetters.close());
    const engine = new DeliveryEngine({
      deadLetters,
      logger: silentLogger,
      retry: { maxAttempts: 100, minDelayMs: 2_500, maxDelayMs: 2_500 },
      random: () => 0.99, // no jitter: each retry waits ~2.5 s
      circuit: { failureThreshold: 1_000, openMs: 60_000 },
    });
    cleanups.push(() => engine.close({ timeoutMs: 1_000 }));
    const log = await openLog({ dir: join(tmp.dir, 'log') });
    cleanups.push(() => log.close());
    await log.appendBatch(Array.from({ length: 5 }, (_, n) => ({ body: `{"n":${n}}` })));
    const options = { log, engine, url, idPrefix: 'a', keyOf: () => 'k', logger: silentLogger };
    const first = new HttpDeliverer(options);
    await first.start();
    // The head's first attempt is in flight, the other four wait behind it for their key.
    await until(() => engine.stats().inFlight === 1 && engine.stats().waiting === 4, 10_000, 'head in flight');

    const t0 = performance.now();
    await first.close({ timeoutMs: 2_000 });
    const closeMs = Math.round(performance.now() - t0);
    const waitingAfterClose = engine.stats().waiting;
    const hitsAtClose = hits.length;
    expect(hitsAtClose).toBe(1); // the one failed attempt; the head has waited for its retry since ~300 ms

    up = true;
    await delay(2_000);
    const sentAfterClose = hits.slice(hitsAtClose).map((h) => h.id);
    // Expected (docs/http.md): its head was not being sent at the deadline, so the line was taken back.
    const closeReturnedEarly = closeMs < 1_500; // nothing of it was in flight after ~300 ms
    expect({ waitingAfterClose, sentAfterClose, closeReturnedEarly }, `close took ${closeMs} ms`).toEqual({
      waitingAfterClose: 0,
      sentAfterClose: [],
      closeReturnedEarly: true,
    });
    expect((await log.cursor('http')).position).toBe(0);
  }, 30_000);
});
