import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@q/core';
import { RedisListPusher } from '@q/redis';
import type { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { client, uniqueKey } from '../../../redis/test/support/clients.js';

const dirs: string[] = [];

/** A fresh directory under the system's temp dir, removed after the file's tests. */
export function tempDir(what = 'outbox'): string {
  const dir = mkdtempSync(join(tmpdir(), `q-${what}-`));
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A Redis list sink (pushBatch) on its own key, de-duplicating by outbox id unless told otherwise. */
export function redisSink(options: { redis?: Redis; url?: string; key?: string; dedupe?: boolean } = {}): {
  sink: RedisListPusher;
  redis: Redis;
  key: string;
  highWaterKey: string;
} {
  const redis = options.redis ?? client(options.url);
  const key = options.key ?? uniqueKey('outbox');
  const highWaterKey = `${key}:hwm`;
  const sink = new RedisListPusher({
    redis,
    key,
    logger: silentLogger,
    ...(options.dedupe === false ? {} : { dedupe: 'outbox-id' as const, highWaterKey }),
  });
  return { sink, redis, key, highWaterKey };
}

/** The list's bodies, as strings. */
export async function listBodies(redis: Redis, key: string): Promise<string[]> {
  return redis.lrange(key, 0, -1);
}

export { client, silentLogger, uniqueKey };
