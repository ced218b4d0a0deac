// Review finding: headers above @q/log's 64 KiB bound are not checked when a send is taken. The log
// then refuses the whole append group, so every send written with it fails with an error about
// headers it never had (write-ahead); in direct-first the bad send goes direct, but a spill that
// holds it fails for every message of that spill.
import { InvalidOptionError } from '@q/core';
import { describe, expect, it } from 'vitest';
import { Outbox } from '../src/index.js';
import { listBodies, redisSink, silentLogger, tempDir } from './support/fixtures.js';

const tooBig = { big: 'x'.repeat(70_000) }; // 70,007 bytes encoded: over the log's 65,535

describe('review: a send with headers too large for a record', () => {
  for (const mode of ['write-ahead', 'direct-first'] as const) {
    it(`${mode}: is refused alone, as it is taken; concurrent sends are stored`, async () => {
      const { sink, redis, key } = redisSink();
      const outbox = new Outbox({ dir: tempDir('review-headers'), sink, mode, logger: silentLogger });
      await outbox.ready();
      const innocent = Array.from({ length: 10 }, (_, i) => outbox.send(`ok-${i}`, { key: 'k' }));
      // Settled at once: a refusal as the send is taken must not be an unhandled rejection meanwhile.
      const bad = Promise.allSettled([outbox.send('bad', { headers: tooBig })]);
      const results = await Promise.allSettled(innocent);
      const badResult = await bad;
      await outbox.close();
      const list = await listBodies(redis, key);
      await sink.close();

      // The bad send itself: refused (never stored, never forwarded), with an error that names headers.
      expect(badResult[0]?.status).toBe('rejected');
      expect((badResult[0] as PromiseRejectedResult).reason).toBeInstanceOf(InvalidOptionError);
      expect(list).not.toContain('bad');
      // Everyone else: unaffected.
      expect(results.map((r) => r.status)).toEqual(Array(10).fill('fulfilled'));
      expect(list.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `ok-${i}`).sort());
    });
  }

  it('direct-first: sends waiting in memory at close() are spilled even when one of them has such headers', async () => {
    const { sink, redis, key } = redisSink();
    const outbox = new Outbox({ dir: tempDir('review-headers'), sink, mode: 'direct-first', logger: silentLogger });
    await outbox.ready();
    const first = outbox.send('first'); // goes out as the direct batch in flight; the rest waits in memory
    const waiting = Array.from({ length: 5 }, (_, i) => outbox.send(`w-${i}`));
    const bad = outbox.send('bad', { headers: tooBig }).catch(() => undefined);
    const closed = outbox.close({ timeoutMs: 5000 });
    const results = await Promise.allSettled([first, ...waiting]);
    await bad;
    await closed;
    await sink.close();
    // What close() spilled is in the log and forwarded (or forwarded at the next open); none is refused.
    expect(results.map((r) => (r.status === 'rejected' ? String((r.reason as Error).message) : 'ok'))).toEqual(
      Array(6).fill('ok'),
    );
    expect((await listBodies(redis, key)).length).toBeGreaterThanOrEqual(1);
  });
});
