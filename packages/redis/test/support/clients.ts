import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, inject } from 'vitest';

const clients: Redis[] = [];

/** A client of the run's redis-server (or REDIS_URL), closed after the file's tests. */
export function client(url = inject('redisUrl')): Redis {
  const redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: null });
  clients.push(redis);
  return redis;
}

afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.quit().catch(() => c.disconnect())));
});

/** A key no other test uses. */
export const uniqueKey = (what = 'list'): string => `q-test:${what}:${randomUUID()}`;
