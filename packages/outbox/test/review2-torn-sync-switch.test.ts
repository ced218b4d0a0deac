// Review (second round) of torn-batch detection (bb582c5). It runs only when the CURRENT open has
// sync 'always', but what matters is the sync level of the run that wrote the batch: with 'none' or
// { intervalMs } a sendBatch resolves before it is on disk, and docs/outbox.md promises that such a
// batch, cut short by a power loss, "is forwarded as far as it got". Reopened with sync 'always' (the
// default: a user who moves to the safer level after the incident), the surviving records of the
// ACKNOWLEDGED batch are noted in TORN and never forwarded.
import { statSync, truncateSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Outbox } from '../src/index.js';
import { largestSegmentFile, listBodies, redisSink, silentLogger, tempDir } from './support/fixtures.js';

describe('a batch acknowledged with sync none, cut by a power loss, reopened with sync always', () => {
  it('its surviving records are forwarded (it was acknowledged)', async () => {
    const dir = tempDir('torn-switch');
    const down = redisSink();
    await down.redis.set(down.key, 'not a list'); // WRONGTYPE: nothing is forwarded before the "power cut"
    const batch = Array.from({ length: 10 }, (_, i) => ({ body: `b${i} ${'x'.repeat(1000)}` }));
    const first = new Outbox({
      dir,
      sink: down.sink,
      sync: 'none',
      logger: silentLogger,
      retry: { minDelayMs: 50, maxDelayMs: 100 },
    });
    await first.send('before');
    const file = largestSegmentFile(dir);
    const before = statSync(file).size;
    const results = await first.sendBatch(batch); // acknowledged
    expect(results).toHaveLength(10);
    const after = statSync(file).size;
    await first.close({ timeoutMs: 0 });
    await down.sink.close();
    await down.redis.del(down.key);
    // The power cut: the kernel had written the batch's first half only.
    truncateSync(file, before + Math.floor((after - before) / 2) + 7);

    const up = redisSink({ key: down.key });
    const second = new Outbox({ dir, sink: up.sink, logger: silentLogger }); // sync 'always'
    await second.ready();
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && second.stats().backlogMessages > 0) await new Promise((r) => setTimeout(r, 50));
    await second.close({ timeoutMs: 2000 });
    const bodies = await listBodies(up.redis, up.key);
    await up.sink.close();
    await up.redis.del(up.key, up.highWaterKey);
    // 'before' and the batch's first records, whole (about half of them).
    expect(bodies[0]).toBe('before');
    expect(bodies.length).toBeGreaterThan(2);
    expect(bodies.slice(1)).toEqual(batch.slice(0, bodies.length - 1).map((b) => b.body));
  }, 60_000);
});
