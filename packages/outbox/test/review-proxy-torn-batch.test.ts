// Review of issue 15: "the batch is one sendBatch: stored whole or not at all" (docs/outbox.md, the
// proxy's POST /v1/messages/batch). @q/log writes a batch as one frame per record in one write; a
// process killed during that write (Linux stops a buffered write between pages on SIGKILL) or a power
// loss before the fdatasync leaves the batch's first frames whole on disk. Recovery keeps every
// whole frame, so the next open forwards the first part of a batch that was never acknowledged.
// Here the torn write is made by cutting the segment file in the middle of the batch's frames,
// exactly the bytes such a write leaves.
import { truncateSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Outbox } from '../src/index.js';
import { dataEnd, largestSegmentFile, listBodies, redisSink, silentLogger, tempDir } from './support/fixtures.js';

/** The outbox log's one segment file (the largest file under `dir`'s segments). */
describe('review: a batch torn by a crash during its write', () => {
  it('after the restart, none of the batch or all of it reaches the sink, never a part', async () => {
    const dir = tempDir('review-torn');
    const down = redisSink();
    // The sink refuses every write until the key is fixed (WRONGTYPE), so nothing is forwarded yet.
    await down.redis.set(down.key, 'not a list');
    const outbox = new Outbox({
      dir,
      sink: down.sink,
      logger: silentLogger,
      retry: { minDelayMs: 50, maxDelayMs: 100 },
    });
    await outbox.ready();
    await outbox.send('before');
    const file = largestSegmentFile(dir);
    const before = dataEnd(file);
    const batch = Array.from({ length: 10 }, (_, i) => ({ body: `batch ${i} ${'x'.repeat(1000)}` }));
    await outbox.sendBatch(batch);
    const after = dataEnd(file);
    await outbox.close({ timeoutMs: 0 });
    await down.sink.close();
    expect(after - before).toBeGreaterThan(10_000);

    // What a kill in the middle of the batch's write leaves: its first half, then nothing.
    truncateSync(file, before + Math.floor((after - before) / 2) + 7);

    await down.redis.del(down.key);
    const up = redisSink({ key: down.key });
    const reopened = new Outbox({ dir, sink: up.sink, logger: silentLogger });
    await reopened.ready();
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && reopened.stats().backlogMessages > 0) await new Promise((r) => setTimeout(r, 50));
    await reopened.close({ timeoutMs: 2000 });
    await up.sink.close();
    const bodies = await listBodies(up.redis, up.key);
    await up.redis.del(up.key, up.highWaterKey);
    const fromBatch = bodies.filter((b) => b.startsWith('batch ')).length;
    expect(bodies[0]).toBe('before');
    expect([0, batch.length]).toContain(fromBatch);
  }, 60_000);
});
