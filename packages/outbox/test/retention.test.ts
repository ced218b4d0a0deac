import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { Outbox } from '../src/index.js';
import { failFastClient, ownRedis, redisSink, sendMany, silentLogger, tempDir } from './support/fixtures.js';

const segments = (dir: string): number => readdirSync(join(dir, 'segments')).filter((f) => f.endsWith('.seg')).length;

describe('the disk does not grow without bound while forwarding', () => {
  it('segments the forward cursor passed are deleted; a backlog grows while the sink is down and shrinks after', async () => {
    const server = await ownRedis();
    const redis = failFastClient(server.url);
    await until(() => redis.status === 'ready', 10_000, 'redis ready');
    const { sink, key } = redisSink({ redis });
    const dir = tempDir('retention');
    const outbox = new Outbox({
      dir,
      sink,
      segmentBytes: 8192,
      logger: silentLogger,
      retry: { minDelayMs: 10, maxDelayMs: 50 },
    });
    const body = 'x'.repeat(200);
    let most = 0;
    // 3000 × ~230 bytes: about 85 segments' worth, forwarded as it comes.
    let sent = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (sent < 3000) {
          sent++;
          await outbox.send(body);
          most = Math.max(most, segments(dir));
        }
      }),
    );
    await until(() => outbox.stats().backlogMessages === 0, 10_000, 'forwarded');
    await until(() => segments(dir) <= 2, 5000, 'forwarded segments deleted');
    expect(most).toBeLessThan(45); // of about 85 written: deleted as they are forwarded

    await server.stop();
    await sendMany(outbox, body, 1000, 16);
    const backlog = segments(dir);
    expect(backlog).toBeGreaterThan(20);
    await server.start();
    await until(async () => redis.status === 'ready' && (await redis.llen(key)) === 4000, 20_000, 'all forwarded');
    await until(() => segments(dir) <= 2, 5000, 'the backlog deleted once forwarded');
    await outbox.close();
    await sink.close();
  });
});
