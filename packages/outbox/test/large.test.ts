import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { Outbox } from '../src/index.js';
import { redisSink, silentLogger, tempDir } from './support/fixtures.js';

// The proxy this ports corrupted its spill file on records of 64 KiB or more.
describe('large messages arrive byte for byte', () => {
  for (const mode of ['write-ahead', 'direct-first'] as const) {
    it(`${mode}: 64 KiB + 1 and 10 MiB bodies, between small ones, in order`, async () => {
      const { sink, redis, key } = redisSink();
      const dir = tempDir('large');
      const outbox = new Outbox({ dir, sink, mode, logger: silentLogger });
      const bodies = [
        Buffer.from('before'),
        randomBytes(64 * 1024 + 1),
        randomBytes(10 * 1024 * 1024),
        Buffer.from('after'),
      ];
      for (const b of bodies) await outbox.send(b);
      await until(async () => (await redis.llen(key)) === 4, 20_000, 'all four in redis');
      await outbox.close();
      const stored = await redis.lrangeBuffer(key, 0, -1);
      expect(stored.map((b) => b.length)).toEqual(bodies.map((b) => b.length));
      for (let i = 0; i < 4; i++) expect(stored[i]?.equals(bodies[i] as Buffer), `message ${i}`).toBe(true);
      await sink.close();
    });
  }

  it('a 10 MiB message kept in the log while the sink is missing is forwarded by the next open', async () => {
    const dir = tempDir('large');
    const big = randomBytes(10 * 1024 * 1024);
    const { sink, redis, key } = redisSink();
    // A sink whose only way in is closed: every push rejects, so the message stays in the log.
    const closed = redisSink({ redis, key });
    await closed.sink.close();
    const first = new Outbox({
      dir,
      sink: closed.sink,
      logger: silentLogger,
      retry: { minDelayMs: 10, maxDelayMs: 50 },
    });
    await first.send(big);
    await until(() => first.stats().sink === 'down', 10_000, 'push refused');
    expect(first.stats().backlogBytes).toBeGreaterThanOrEqual(big.length);
    await first.close({ timeoutMs: 50 });
    const second = new Outbox({ dir, sink, logger: silentLogger });
    await until(async () => (await redis.llen(key)) === 1, 20_000, 'forwarded after the reopen');
    await second.close();
    expect((await redis.lindexBuffer(key, 0))?.equals(big)).toBe(true);
    await sink.close();
  });
});
