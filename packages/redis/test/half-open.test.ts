import { type Producer, silentLogger } from '@q/core';
import { queueKeys, type RedisMessage, redisListProducerFactory } from '@q/redis';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it, onTestFinished } from 'vitest';
import { startTcpProxy, type TcpProxy } from '../../../test-support/tcp-proxy.js';
import { delay, until } from '../../../test-support/wait.js';
import { client, uniqueKey } from './support/clients.js';
import { startRedisServer } from './support/redis-server.js';

const proxies: TcpProxy[] = [];
const through: Redis[] = [];
afterEach(async () => {
  for (const r of through.splice(0)) r.disconnect();
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

/** The client ports (as Redis sees them) of connections blocked in BLMOVE. */
async function blockedPorts(redis: Redis): Promise<number[]> {
  const list = (await redis.client('LIST')) as string;
  return list
    .split('\n')
    .filter((line) => line.includes('cmd=blmove'))
    .map((line) => Number(/addr=\S+:(\d+)/.exec(line)?.[1]));
}

/**
 * The blocking connection dies on the client's side only: Redis still holds its BLMOVE, ioredis
 * reconnects and blocks again. close() must end the old BLMOVE too, or it later moves a message
 * into the staging list of a consumer that close() already handed back and unregistered.
 */
describe('a half-open blocking connection', () => {
  it('close() leaves no BLMOVE behind: a message pushed after close stays in the queue', async () => {
    // A server of its own: on the shared one, other files' consumers block in BLMOVE too, and the
    // first blocked port found could be theirs.
    const server = await startRedisServer();
    onTestFinished(() => server.dispose());
    const direct = client(server.url);
    onTestFinished(() => direct.disconnect());
    const target = new URL(server.url);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
    proxies.push(proxy);
    // ioredis defaults, through the proxy.
    const redis = new Redis(proxy.port, proxy.host);
    through.push(redis);
    const key = uniqueKey('half-open');
    const keys = queueKeys(key);
    const factory = redisListProducerFactory({ redis, key, leaseMs: 3000, blockTimeoutMs: 900, logger: silentLogger });
    const a = (await factory()) as Producer<RedisMessage> & { id: string };
    const stop = new AbortController();
    const loop = (async () => {
      while (!stop.signal.aborted) await a.produce(stop.signal);
    })();
    await until(async () => (await blockedPorts(direct)).length > 0, 10_000, 'a BLMOVE');
    const [old] = await blockedPorts(direct);
    expect(proxy.halfOpen((p) => p === old)).toBe(1);
    await until(async () => (await blockedPorts(direct)).some((p) => p !== old), 10_000, 'a second BLMOVE');
    stop.abort();
    await a.close?.();
    await loop;
    // The current connection's server side goes when the proxy sees it close; the old one only if killed.
    await until(async () => (await blockedPorts(direct)).every((p) => p !== old), 3_000, 'the old BLMOVE gone').catch(
      () => {},
    );
    expect(await blockedPorts(direct)).not.toContain(old);
    await direct.rpush(key, 'late');
    await delay(300);
    expect({ list: await direct.lrange(key, 0, -1), staged: await direct.lrange(keys.staging(a.id), 0, -1) }).toEqual({
      list: ['late'],
      staged: [],
    });
  }, 30_000);
});

describe('Redis that stops answering during close()', () => {
  for (const mode of ['at-least-once', 'at-most-once'] as const) {
    it(`${mode}: close() ends in bounded time and closes its own blocking connection`, async () => {
      const target = new URL(inject('redisUrl'));
      const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
      proxies.push(proxy);
      const redis = new Redis(proxy.port, proxy.host);
      through.push(redis);
      const key = uniqueKey('silent');
      const producer = (await redisListProducerFactory({
        redis,
        key,
        mode,
        leaseMs: 3000,
        blockTimeoutMs: 200,
        logger: silentLogger,
      })()) as Producer<RedisMessage>;
      const stop = new AbortController();
      const producing = producer.produce(stop.signal);
      await until(() => proxy.connections === 2, 10_000, 'main and blocking connections');
      proxy.stall();
      stop.abort();
      const started = Date.now();
      await Promise.resolve(producer.close?.()).catch(() => {});
      await producing;
      // Each bounded step waits at most blockTimeoutMs + 1 s; before, close() never returned.
      expect(Date.now() - started).toBeLessThan(10_000);
      // A stalled proxy reads nothing, so it cannot see the client's FIN either (CI once counted 2 here,
      // 3 s after close): the close is checked once the path forwards again.
      proxy.resume();
      await until(() => proxy.connections === 1, 3_000, 'the blocking connection closed').catch(() => {});
      expect(proxy.connections).toBe(1);
    }, 30_000);
  }
});

describe('Redis that stops answering during produce()', () => {
  it('at-least-once: a produce() whose claim is never answered ends when its signal aborts', async () => {
    const target = new URL(inject('redisUrl'));
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
    proxies.push(proxy);
    const redis = new Redis(proxy.port, proxy.host);
    through.push(redis);
    await redis.ping();
    const producer = (await redisListProducerFactory({
      redis,
      key: uniqueKey('silent-claim'),
      leaseMs: 3000,
      blockTimeoutMs: 200,
      logger: silentLogger,
    })()) as Producer<RedisMessage>;
    proxy.stall();
    const stop = new AbortController();
    // The claim goes out on the main connection and is never answered.
    const producing = producer.produce(stop.signal);
    await delay(100);
    stop.abort();
    const ended = await Promise.race([
      Promise.resolve(producing).then(() => 'ended'),
      delay(2000).then(() => 'pending'),
    ]);
    expect(ended).toBe('ended');
    await Promise.resolve(producer.close?.()).catch(() => {});
  }, 30_000);
});
