// A sendBatch torn by a crash during its write (the segment cut in the middle of its frames, as a kill
// mid-write leaves it) is skipped whole, also by later opens once more was appended after it; its
// idempotency keys are not remembered, so the client's retry of the unanswered batch stores it whole.
import { truncateSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Outbox } from '../src/index.js';
import { dataEnd, largestSegmentFile, listBodies, redisSink, silentLogger, tempDir } from './support/fixtures.js';

async function drain(outbox: Outbox): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && outbox.stats().backlogMessages > 0) await new Promise((r) => setTimeout(r, 50));
}

describe('a sendBatch torn by a crash', () => {
  it('is skipped whole at every later open; its keys are free, so the retry stores it whole, once', async () => {
    const dir = tempDir('torn');
    const down = redisSink();
    await down.redis.set(down.key, 'not a list'); // WRONGTYPE: nothing is forwarded before the "crash"
    const batch = Array.from({ length: 10 }, (_, i) => ({
      body: `b${i} ${'x'.repeat(1000)}`,
      idempotencyKey: `k${i}`,
    }));
    const first = new Outbox({
      dir,
      sink: down.sink,
      logger: silentLogger,
      retry: { minDelayMs: 50, maxDelayMs: 100 },
    });
    await first.send('before');
    const file = largestSegmentFile(dir);
    const before = dataEnd(file);
    await first.sendBatch(batch);
    const after = dataEnd(file);
    await first.close({ timeoutMs: 0 });
    await down.sink.close();
    truncateSync(file, before + Math.floor((after - before) / 2) + 7);

    // The next open (the sink still refusing): the client got no answer, so it sends the batch again.
    const still = redisSink({ key: down.key });
    const second = new Outbox({
      dir,
      sink: still.sink,
      logger: silentLogger,
      retry: { minDelayMs: 50, maxDelayMs: 100 },
    });
    const retried = await second.sendBatch(batch);
    expect(retried.map((r) => r.duplicate)).toEqual(Array(10).fill(false));
    await second.send('after');
    await second.close({ timeoutMs: 0 });
    await still.sink.close();
    await down.redis.del(down.key);

    // A third open: the torn records are no longer the log's last, and are still skipped.
    const up = redisSink({ key: down.key });
    const third = new Outbox({ dir, sink: up.sink, logger: silentLogger });
    const again = await third.sendBatch(batch.slice(0, 2));
    expect(again.map((r) => r.duplicate)).toEqual([true, true]);
    expect(again.map((r) => r.id)).toEqual(retried.slice(0, 2).map((r) => r.id));
    await drain(third);
    await third.close({ timeoutMs: 2000 });
    const bodies = await listBodies(up.redis, up.key);
    await up.sink.close();
    await up.redis.del(up.key, up.highWaterKey);
    expect(bodies).toEqual(['before', ...batch.map((b) => b.body), 'after']);
  }, 60_000);
});
