import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { Outbox } from '../src/index.js';
import { listBodies, redisSink, silentLogger, tempDir } from './support/fixtures.js';

describe('smoke', () => {
  for (const mode of ['write-ahead', 'direct-first'] as const) {
    it(`${mode}: sends reach redis`, async () => {
      const { sink, redis, key } = redisSink();
      const outbox = new Outbox({ dir: tempDir(), sink, mode, logger: silentLogger });
      const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => outbox.send(`m${i}`)));
      expect(new Set(results.map((r) => r.id)).size).toBe(1000);
      await until(async () => (await redis.llen(key)) === 1000, 10_000, 'all in redis');
      console.log(outbox.stats());
      await outbox.close();
      expect((await listBodies(redis, key)).length).toBe(1000);
    });
  }
});
