// Review finding: sendBatch is "all or nothing", but an item whose idempotency key is held by an
// earlier send still under way is left out of the batch's log group: if the earlier send fails, that
// item is sent on its own afterwards. When that send fails too, sendBatch rejects while its other
// items are stored and forwarded (a rejected send reaching the sink; the client's retry duplicates it).
import { describe, expect, it } from 'vitest';
import { delay } from '../../../test-support/wait.js';
import { Outbox } from '../src/index.js';
import { listBodies, redisSink, silentLogger, tempDir } from './support/fixtures.js';

describe('review: sendBatch with an idempotency key held by a send that fails', () => {
  it('a rejected sendBatch stores none of its items', async () => {
    const { sink, redis, key } = redisSink();
    // A record larger than maxBytes can never be stored: OutboxFullError, even with whenFull 'block'.
    const outbox = new Outbox({
      dir: tempDir('review-idem'),
      sink,
      logger: silentLogger,
      segmentBytes: 4096,
      maxBytes: 8192,
    });
    await outbox.ready();
    const big = 'B'.repeat(10_000);
    const earlier = outbox.send(big, { idempotencyKey: 'K' });
    const batch = outbox.sendBatch([{ body: 'x' }, { body: big, idempotencyKey: 'K' }]);
    const [e, b] = await Promise.allSettled([earlier, batch]);
    await delay(300); // the forwarder pushes whatever the log holds
    await outbox.close();
    const list = await listBodies(redis, key);
    await sink.close();

    expect(e?.status).toBe('rejected');
    if (b?.status === 'rejected') expect(list, 'sendBatch rejected, yet an item of it reached the sink').toEqual([]);
    else expect(list).toEqual(['x', big]);
  });
});
