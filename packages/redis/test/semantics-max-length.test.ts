import { DEATH_HEADER, InvalidOptionError, PublishRejectedError, readDeaths, silentLogger } from '@q/core';
import { RedisListPusher, unwrapEnvelope, wrapEnvelope } from '@q/redis';
import { describe, expect, it } from 'vitest';
import { client, uniqueKey } from './support/clients.js';

const bodies = (n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => `m${from + i}`);

describe('RedisListPusher maxLength, overflow drop-head (RabbitMQ x-max-length)', () => {
  it('maxLength 100, 250 pushes: the list holds the newest 100, the 150 oldest are dead-lettered with reason maxlen', async () => {
    const redis = client();
    const tag = uniqueKey('cap');
    const key = `{${tag}}:jobs`;
    const deadLetterKey = `{${tag}}:dropped`;
    const pusher = new RedisListPusher({
      redis,
      key,
      maxLength: 100,
      deadLetterKey,
      chunkBytes: 64,
      logger: silentLogger,
    });
    const sent = bodies(250);
    await Promise.all(sent.map((m) => pusher.pushAndConfirm(m)));
    await pusher.close();
    expect(await redis.lrange(key, 0, -1)).toEqual(sent.slice(150));
    const dead = await redis.lrange(deadLetterKey, 0, -1);
    expect(dead).toHaveLength(150);
    const before = Date.now();
    for (const [i, stored] of dead.entries()) {
      const { body, headers } = unwrapEnvelope(stored);
      expect(body).toBe(sent[i]);
      const deaths = readDeaths(headers[DEATH_HEADER]);
      expect(deaths).toEqual([{ reason: 'maxlen', queue: key, count: 1, time: expect.any(Number) }]);
      expect(deaths[0]?.time).toBeLessThanOrEqual(before + 1000);
    }
    expect(pusher.stats()).toMatchObject({ written: 250, dropped: 150, rejected: 0 });
  });

  it('without a dead-letter key the oldest are discarded; one pushBatch over the limit keeps its newest', async () => {
    const redis = client();
    const key = uniqueKey('cap');
    const pusher = new RedisListPusher({ redis, key, maxLength: 10, overflow: 'drop-head', logger: silentLogger });
    await pusher.pushBatch(bodies(25));
    expect(await redis.lrange(key, 0, -1)).toEqual(bodies(10, 15));
    expect(pusher.stats().dropped).toBe(15);
    await pusher.close();
  });

  it('keeps the other envelope headers, counts a second death in the same queue up, and removes the expiry', async () => {
    const redis = client();
    const tag = uniqueKey('cap');
    const key = `{${tag}}:jobs`;
    const deadLetterKey = `{${tag}}:dropped`;
    const earlier = JSON.stringify([
      { reason: 'maxlen', queue: key, count: 1, time: 1 },
      { reason: 'rejected', queue: 'elsewhere', count: 2, time: 2, cause: 'boom' },
    ]);
    const pusher = new RedisListPusher({ redis, key, maxLength: 1, deadLetterKey, logger: silentLogger });
    const first = wrapEnvelope('é payload\n with a newline', {
      traceparent: '00-abc-01',
      [DEATH_HEADER]: earlier,
      'q-expires-at': '1',
    });
    const malformed = '\u0000q1 not json\nrest';
    await pusher.pushBatch([first, malformed, 'last']);
    await pusher.close();
    expect(await redis.lrange(key, 0, -1)).toEqual(['last']);
    const [a, b] = (await redis.lrange(deadLetterKey, 0, -1)).map((s) => unwrapEnvelope(s));
    expect(a?.body).toBe('é payload\n with a newline');
    expect(a?.headers.traceparent).toBe('00-abc-01');
    expect(a?.headers['q-expires-at']).toBeUndefined();
    const deaths = readDeaths(a?.headers[DEATH_HEADER]);
    expect(deaths.map((d) => [d.reason, d.queue, d.count])).toEqual([
      ['maxlen', key, 2],
      ['rejected', 'elsewhere', 2],
    ]);
    expect(deaths[1]?.cause).toBe('boom');
    // A header line that is not JSON is someone's body: enveloped whole, it comes back intact.
    expect(b?.body).toBe(malformed);
    expect(readDeaths(b?.headers[DEATH_HEADER])[0]).toMatchObject({ reason: 'maxlen', count: 1 });
  });
});

describe('RedisListPusher maxLength, overflow reject-publish', () => {
  it('maxLength 100, 250 pushes: the first 100 are stored, the other 150 reject with PublishRejectedError', async () => {
    const redis = client();
    const key = uniqueKey('cap');
    const refused: (string | Buffer)[] = [];
    const pusher = new RedisListPusher({
      redis,
      key,
      maxLength: 100,
      overflow: 'reject-publish',
      chunkBytes: 200,
      onError: (error, messages) => {
        expect(error).toBeInstanceOf(PublishRejectedError);
        refused.push(...messages);
      },
    });
    const sent = bodies(250);
    const results = await Promise.allSettled(sent.map((m) => pusher.pushAndConfirm(m)));
    const rejected = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
    expect(rejected).toHaveLength(150);
    expect(rejected).toEqual(Array.from({ length: 150 }, (_, i) => 100 + i));
    for (const r of results) {
      if (r.status === 'rejected') {
        expect(r.reason).toBeInstanceOf(PublishRejectedError);
        expect(r.reason).toMatchObject({ reason: 'maxlen', destination: key, code: 'Q_PUBLISH_REJECTED' });
      }
    }
    expect(await redis.lrange(key, 0, -1)).toEqual(sent.slice(0, 100));
    expect(refused).toEqual(sent.slice(100));
    expect(pusher.stats()).toMatchObject({ written: 100, rejected: 150, dropped: 0 });
    // Room again once a consumer took some: the next pushes fit.
    await redis.lpop(key, 3);
    await pusher.pushAndConfirm('after');
    expect(await redis.llen(key)).toBe(98);
    await pusher.close();
  });

  it('a pushBatch is stored whole or not at all; a smaller push after it still fits', async () => {
    const redis = client();
    const key = uniqueKey('cap');
    const pusher = new RedisListPusher({ redis, key, maxLength: 10, overflow: 'reject-publish', logger: silentLogger });
    await pusher.pushBatch(bodies(8));
    await expect(pusher.pushBatch(bodies(3, 8))).rejects.toBeInstanceOf(PublishRejectedError);
    expect(await redis.llen(key)).toBe(8);
    await pusher.pushBatch(bodies(2, 20));
    expect(await redis.lrange(key, 0, -1)).toEqual([...bodies(8), ...bodies(2, 20)]);
    // A push (not confirmed) that does not fit resolved already: counted, reported, not stored.
    await pusher.push('over');
    await pusher.flush();
    expect(pusher.stats().rejected).toBe(4);
    expect(await redis.llen(key)).toBe(10);
    await pusher.close();
  });
});

describe('RedisListPusher maxLength, a throwing onError', () => {
  it('does not fail the write: what fit confirms, what did not rejects with PublishRejectedError', async () => {
    const redis = client();
    const key = uniqueKey('cap');
    const pusher = new RedisListPusher({
      redis,
      key,
      maxLength: 2,
      overflow: 'reject-publish',
      logger: silentLogger,
      onError: () => {
        throw new Error('callback bug');
      },
    });
    const results = await Promise.allSettled(bodies(3).map((m) => pusher.pushAndConfirm(m)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(PublishRejectedError);
    expect(await redis.lrange(key, 0, -1)).toEqual(bodies(2));
    await pusher.close();
  });
});

describe('RedisListPusher maxLength options', () => {
  const redis = client();
  it.each([
    [{ maxLength: 0 }, 'maxLength'],
    [{ maxLength: 1.5 }, 'maxLength'],
    [{ maxLength: 10, overflow: 'reject-publish-dlx' }, 'overflow'],
    [{ overflow: 'drop-head' }, 'overflow'],
    [{ maxLength: 10, dedupe: 'outbox-id' }, 'maxLength'],
    [{ maxLength: 10, deadLetterKey: 'other' }, 'deadLetterKey'],
    [{ maxLength: 10, overflow: 'reject-publish', deadLetterKey: '{jobs}:x' }, 'deadLetterKey'],
    [{ deadLetterKey: '{jobs}:x' }, 'deadLetterKey'],
    [{ maxLength: 10, deadLetterKey: 'jobs' }, 'deadLetterKey'],
  ])('%j is refused with InvalidOptionError naming %s', (options, option) => {
    const make = () => new RedisListPusher({ redis, key: 'jobs', ...(options as object) });
    expect(make).toThrow(InvalidOptionError);
    expect(make).toThrow(new RegExp(option));
  });

  it('accepts a dead-letter key in the list key slot, tagged either way', () => {
    for (const [key, deadLetterKey] of [
      ['jobs', '{jobs}:dropped'],
      ['{orders}:jobs', '{orders}:dropped'],
    ] as const) {
      const pusher = new RedisListPusher({ redis, key, maxLength: 5, deadLetterKey, logger: silentLogger });
      void pusher.close();
    }
  });
});
