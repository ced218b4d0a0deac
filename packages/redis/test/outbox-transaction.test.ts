import { inspect } from 'node:util';
import { OUTBOX_ID_HEADER, silentLogger } from '@q/core';
import { queueKeys, RedisListPusher } from '@q/redis';
import { describe, expect, it } from 'vitest';
import { LUA_SOURCES } from '../src/lua-scripts.generated.js';
import { client, uniqueKey } from './support/clients.js';

/** Bodies over 256 bytes on average go as a plain RPUSH plus outbox-settle-2.lua in one MULTI. */
const large = (outbox: string, seq: number, fill = 'x') => ({
  body: `${outbox}-${seq}-`.padEnd(400, fill),
  headers: { [OUTBOX_ID_HEADER]: `${outbox}:${seq}` },
});
const range = (outbox: string, from: number, to: number, fill?: string) =>
  Array.from({ length: to - from + 1 }, (_, i) => large(outbox, from + i, fill));

function pusher(key: string) {
  return new RedisListPusher({ redis: client(), key, dedupe: 'outbox-id', logger: silentLogger });
}

describe("RedisListPusher dedupe: 'outbox-id', large bodies (RPUSH + settle script in MULTI)", () => {
  it('replays, whole and in part, add nothing twice; marks are stored as sent', async () => {
    const redis = client();
    const key = uniqueKey('dedupe-tx');
    const p = pusher(key);
    await p.pushBatch(range('a', 1, 5));
    await p.pushBatch(range('a', 1, 5));
    await p.pushBatch([...range('a', 4, 8), ...range('b', 1, 2), ...range('a', 7, 9)]);
    expect(await redis.lrange(key, 0, -1)).toEqual(
      [...range('a', 1, 8), ...range('b', 1, 2), ...range('a', 9, 9)].map((m) => m.body),
    );
    expect(await redis.hgetall(queueKeys(key).outboxHighWater)).toEqual({ a: '9', b: '2' });
    expect(p.stats()).toMatchObject({ written: 11, duplicatesSkipped: 9 });
    await p.close();
  });

  it('a reader blocked on the list never receives a body taken back: it gets only the new ones, in order', async () => {
    const redis = client();
    const reader = client();
    const key = uniqueKey('dedupe-tx');
    const p = pusher(key);
    await p.pushBatch(range('a', 1, 5));
    await redis.del(key); // consumed
    // A whole replay while the reader waits: pushed and taken back in one transaction.
    const blocked = reader.blpop(key, 1);
    await new Promise((r) => setTimeout(r, 50));
    await p.pushBatch(range('a', 1, 5));
    expect(await blocked).toBeNull();
    expect(await redis.exists(key)).toBe(0);
    // A replay in part: the reader's first body is the first new one.
    const next = reader.blpop(key, 5);
    await new Promise((r) => setTimeout(r, 50));
    await p.pushBatch(range('a', 4, 8));
    expect((await next)?.[1]).toBe(large('a', 6).body);
    expect(await redis.lrange(key, 0, -1)).toEqual([large('a', 7).body, large('a', 8).body]);
    await p.close();
  });

  it('a failure at any step leaves the list and the marks as they were (nothing half-stored), without bodies in the error', async () => {
    const redis = client();
    // The list key holds a string: the RPUSH fails, the script writes nothing.
    const notList = uniqueKey('dedupe-tx');
    await redis.set(notList, 'not a list');
    const a = pusher(notList);
    const error = await a.pushBatch(range('s', 1, 2, 'S')).catch((e) => e);
    expect((error as Error).message).toMatch(/the list was not pushed to \(its key holds a string\)/);
    expect(inspect(error, { depth: 5 })).not.toMatch(/SSSS/);
    expect(await redis.get(notList)).toBe('not a list');
    expect(await redis.exists(queueKeys(notList).outboxHighWater)).toBe(0);
    await a.close();

    // The high-water hash is not a hash, or a mark is not a number: the pushed bodies are trimmed off again.
    for (const [what, spoil] of [
      ['not a hash', (hw: string) => redis.set(hw, 'x')],
      ['not a number', (hw: string) => redis.hset(hw, 's', 'garbage')],
    ] as const) {
      const key = uniqueKey('dedupe-tx');
      const hw = queueKeys(key).outboxHighWater;
      await redis.rpush(key, 'before-1', 'before-2');
      await spoil(hw);
      const b = pusher(key);
      await expect(b.pushBatch(range('s', 1, 3)), what).rejects.toThrow(/q outbox-push/);
      expect(await redis.lrange(key, 0, -1), what).toEqual(['before-1', 'before-2']);
      await b.close();
    }
  });

  it('the script refuses counts that do not match the push, and takes the push back', async () => {
    const redis = client();
    const key = uniqueKey('dedupe-tx');
    const hw = uniqueKey('hw');
    await redis.rpush(key, 'kept');
    const settle = LUA_SOURCES['outbox-settle-2.lua'];
    for (const args of [
      ['2', 'a', '1', '3'], // the runs claim 3 bodies, the push made 2
      ['2', 'a', '1'], // a run cut short
      ['2', 'a', 'one', '2'], // not a number
      ['2', 'a', '2', '1'], // last before first
    ]) {
      const replies = await redis
        .multi()
        .rpush(key, 'p1', 'p2')
        .eval(settle, 2, key, hw, ...args)
        .exec();
      expect(replies?.[1]?.[0]?.message, args.join(' ')).toMatch(
        /q outbox-push: malformed|q outbox-push: the runs count/,
      );
      expect(await redis.lrange(key, 0, -1), args.join(' ')).toEqual(['kept']);
    }
    expect(await redis.exists(hw)).toBe(0);
    // Without a count the script cannot tell what to take back: it says so and writes nothing itself.
    const replies = await redis.multi().rpush(key, 'p1').eval(settle, 2, key, hw, 'x', 'a', '1', '1').exec();
    expect(replies?.[1]?.[0]?.message).toMatch(/q outbox-push: malformed count x/);
    expect(await redis.lrange(key, 0, -1)).toEqual(['kept', 'p1']);
    expect(await redis.exists(hw)).toBe(0);
  });
});
