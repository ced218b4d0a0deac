import { RedisListPusher } from '@q/redis';
import { describe, expect, it } from 'vitest';
import { client, uniqueKey } from './support/clients.js';

describe('RedisListPusher and Symbol.asyncDispose', () => {
  it('disposing flushes what is buffered, like close()', async () => {
    const redis = client();
    const key = uniqueKey('dispose');
    const pusher = new RedisListPusher({ redis, key, flushIntervalMs: 60_000 });
    void pusher.push('a');
    void pusher.push('b');
    expect(await redis.llen(key)).toBe(0);
    await pusher[Symbol.asyncDispose]();
    expect(await redis.lrange(key, 0, -1)).toEqual(['a', 'b']);
    redis.disconnect();
  });
});
