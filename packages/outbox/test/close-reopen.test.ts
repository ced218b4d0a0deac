import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { Outbox, OutboxClosedError } from '../src/index.js';
import {
  counts,
  failFastClient,
  listBodies,
  ownRedis,
  redisSink,
  sendMany,
  silentLogger,
  tempDir,
} from './support/fixtures.js';

describe('close() with a deadline while the sink is down, then a new open', () => {
  for (const mode of ['write-ahead', 'direct-first'] as const) {
    it(`${mode}: close keeps its deadline, the rest stays in the log and the next open forwards it by itself`, async () => {
      const server = await ownRedis();
      const redis = failFastClient(server.url);
      await until(() => redis.status === 'ready', 10_000, 'redis ready');
      const { sink, key } = redisSink({ redis });
      const dir = tempDir();
      const options = {
        dir,
        sink,
        mode,
        logger: silentLogger,
        directTimeoutMs: 200,
        retry: { minDelayMs: 20, maxDelayMs: 100 },
      };
      const first = new Outbox(options);
      await first.ready();
      const id = first.id;
      await server.stop();
      const sent = await sendMany(first, 'x', 400, 8);
      expect(first.stats().backlogMessages).toBeGreaterThan(0);

      const started = Date.now();
      await first.close({ timeoutMs: 300 });
      expect(Date.now() - started).toBeLessThan(3000);
      await expect(first.send('late')).rejects.toBeInstanceOf(OutboxClosedError);
      await expect(first.send('late')).rejects.toMatchObject({ code: 'Q_OUTBOX_CLOSED' });

      await server.start();
      await until(() => redis.status === 'ready', 10_000, 'redis back');
      const second = new Outbox(options);
      await second.ready();
      expect(second.id).toBe(id);
      await until(async () => (await redis.llen(key)) >= 400, 20_000, 'the backlog forwarded by the new open');
      await until(() => second.stats().backlogMessages === 0, 10_000, 'drained');
      await second.close();
      const seen = counts(await listBodies(redis, key));
      expect(seen.size).toBe(400);
      for (const body of sent.keys()) expect(seen.get(body), body).toBe(1);
      await sink.close();
    });
  }

  it('close() twice returns the same promise; a send waiting for the open is rejected when the open fails', async () => {
    const { sink } = redisSink();
    const dir = tempDir();
    const a = new Outbox({ dir, sink, logger: silentLogger });
    await a.ready();
    // The directory is locked by `a`: a second outbox on it cannot open.
    const b = new Outbox({ dir, sink, logger: silentLogger });
    await expect(b.ready()).rejects.toMatchObject({ code: 'Q_LOG_LOCKED' });
    await expect(b.send('x')).rejects.toMatchObject({ code: 'Q_LOG_LOCKED' });
    await b.close();
    const closing = a.close();
    expect(a.close()).toBe(closing);
    await closing;
    await sink.close();
  });
});
