import { readFileSync } from 'node:fs';
import { InvalidOptionError, type Producer, silentLogger } from '@q/core';
import { queueKeys, type RedisMessage, redisListProducerFactory } from '@q/redis';
import { describe, expect, it } from 'vitest';
import { delay, until } from '../../../test-support/wait.js';
import { client, uniqueKey } from './support/clients.js';

const never = new AbortController().signal;

/**
 * A consumer frozen (SIGSTOP, a VM pause) or cut off while its BLMOVE is on its way or waiting on the
 * server loses its lease; another instance recovers it. The server may still run that BLMOVE and move
 * a message into the frozen consumer's staging list. If that consumer then dies, the message must
 * still come back.
 */
describe('a BLMOVE that lands after its consumer was recovered', () => {
  it('blockTimeoutMs must be below leaseMs / 3 (a wait must end well before the lease)', () => {
    const redis = client();
    const make = (blockTimeoutMs: number, leaseMs: number) => () =>
      redisListProducerFactory({ redis, key: uniqueKey('opt'), blockTimeoutMs, leaseMs });
    expect(make(3000, 300)).toThrow(InvalidOptionError);
    expect(make(100, 300)).toThrow(/blockTimeoutMs/);
    expect(make(99, 300)).not.toThrow();
    // At-most-once has no lease.
    expect(() =>
      redisListProducerFactory({
        redis,
        key: uniqueKey('opt'),
        mode: 'at-most-once',
        blockTimeoutMs: 3000,
        leaseMs: 300,
      }),
    ).not.toThrow();
  });

  it('the message it moved into the dead consumer staging list is delivered by the survivor', async () => {
    const redis = client();
    const frozen = client();
    const key = uniqueKey('late-blmove');
    const keys = queueKeys(key);
    // X: a consumer whose lease already ran out, its BLMOVE still waiting on the server.
    const x = 'frozen0consumer';
    await redis.sadd(keys.consumers, x);
    const late = frozen.blmove(key, keys.staging(x), 'LEFT', 'RIGHT', 10).catch(() => null);
    await until(async () => ((await redis.client('LIST')) as string).includes('cmd=blmove'), 10_000, 'the BLMOVE');
    const b = (await redisListProducerFactory({
      redis,
      key,
      leaseMs: 600,
      blockTimeoutMs: 50,
      logger: silentLogger,
    })()) as Producer<RedisMessage>;
    // B's first recovery pass (at its start) has run.
    await delay(300);
    await redis.rpush(key, 'm1');
    expect(await late).toBe('m1');
    frozen.disconnect(); // X dies
    const got: string[] = [];
    const deadline = Date.now() + 10_000;
    while (got.length === 0 && Date.now() < deadline) {
      for (const m of ((await b.produce(never)) ?? []) as RedisMessage[]) {
        got.push(m.body);
        await b.settle?.(m, { type: 'consumed' });
      }
    }
    expect(got).toEqual(['m1']);
    // X is forgotten once the grace (one lease) has passed.
    await until(async () => (await redis.sismember(keys.consumers, x)) === 0, 10_000, 'X forgotten');
    await b.close?.();
    expect(await redis.llen(keys.staging(x))).toBe(0);
  }, 30_000);
});

describe('a claim replayed after its consumer was recovered', () => {
  it('clears the "gone" mark, so a later recovery still gives the consumer its grace', async () => {
    const redis = client();
    const lua = (name: string) => readFileSync(new URL(`../src/lua/${name}`, import.meta.url), 'utf8');
    const t = `{${uniqueKey('replay-gone')}}`;
    const k = {
      list: t,
      retry: `${t}:retry`,
      inflight: `${t}:inflight:A`,
      lease: `${t}:lease:A`,
      consumers: `${t}:consumers`,
      staging: `${t}:staging:A`,
      dead: `${t}:dead`,
      ids: `${t}:ids`,
      claim: `${t}:claim:A`,
    };
    const claim = (nonce: number) =>
      redis.eval(lua('claim-9.lua'), 9, ...Object.values(k), 1, 300, 'A', 0, nonce) as Promise<unknown[]>;
    const recover = () =>
      redis.eval(lua('recover-6.lua'), 6, k.lease, k.inflight, k.staging, k.retry, k.consumers, k.claim, 'A', '', 300);
    await redis.rpush(k.list, 'm1');
    await claim(1); // its reply is lost
    await delay(350);
    await recover(); // the lease ran out: m1 goes back, A is marked gone
    expect(await redis.hget(k.claim, 'gone')).not.toBeNull();
    await delay(350);
    await claim(1); // the client re-sends the lost claim: A was alive after all
    expect(await redis.hget(k.claim, 'gone')).toBeNull();
  });
});
