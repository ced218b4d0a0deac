import { silentLogger } from '@q/core';
import { queueKeys, type RedisMessage, redisListProducerFactory } from '@q/redis';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from '../../../test-support/tcp-proxy.js';
import { until } from '../../../test-support/wait.js';
import { client, uniqueKey } from './support/clients.js';

let proxy: TcpProxy | undefined;
let viaProxy: Redis | undefined;
afterEach(async () => {
  viaProxy?.disconnect();
  await proxy?.close();
});

/** A client with ioredis's default options (it re-sends unanswered commands after a reconnect), through a fault proxy. */
async function proxiedClient(): Promise<{ proxy: TcpProxy; redis: Redis }> {
  const target = new URL(inject('redisUrl'));
  proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
  viaProxy = new Redis(`redis://${proxy.host}:${proxy.port}`);
  viaProxy.on('error', () => {}); // the cut connection is the point of the test
  return { proxy, redis: viaProxy };
}

describe('a claim whose reply was lost (ioredis defaults: the claim is re-sent after the reconnect)', () => {
  it('every message is delivered and none stays stranded in the in-flight record while the consumer lives', async () => {
    const { proxy, redis } = await proxiedClient();
    const direct = client();
    const key = uniqueKey('lost-reply');
    const keys = queueKeys(key);
    const sent = ['lost-reply-1', 'lost-reply-2', 'kept-3', 'kept-4'];
    await direct.rpush(key, ...sent);
    const producer = await redisListProducerFactory({
      redis,
      key,
      batchSize: 2,
      blockTimeoutMs: 20,
      logger: silentLogger,
    })();
    // The first claim takes lost-reply-1 and -2; its reply is the first data from Redis naming them.
    const dropped = proxy.dropNextReply((chunk) => chunk.includes('lost-reply-1'));
    const delivered: string[] = [];
    const signal = new AbortController().signal;
    for (let i = 0; i < 20 && delivered.length < sent.length; i++) {
      for (const m of ((await producer.produce(signal)) as RedisMessage[] | undefined) ?? []) {
        delivered.push(m.body);
        await producer.settle?.(m, { type: 'consumed' });
      }
    }
    await dropped;
    expect(proxy.droppedReplies).toBe(1);
    // End to end: the four messages, each once (nothing was handed to anyone else).
    expect(delivered.sort()).toEqual([...sent].sort());
    const [id] = await direct.smembers(keys.consumers);
    expect(id).toBeDefined();
    // Nothing stranded while the consumer lives: its in-flight record empties as the acks land.
    await until(async () => (await direct.hlen(keys.inflight(id as string))) === 0, 10_000, 'in-flight record empty');
    await producer.close?.();
    expect(await direct.llen(key)).toBe(0);
    expect(await direct.llen(keys.retry)).toBe(0);
    expect(await direct.scard(keys.consumers)).toBe(0);
  });

  it('a claim that failed after it ran (the client gave up re-sending it) is repeated with its nonce and returns the same messages', async () => {
    const target = new URL(inject('redisUrl'));
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
    // maxRetriesPerRequest 0: the cut connection fails the claim instead of re-sending it.
    viaProxy = new Redis(`redis://${proxy.host}:${proxy.port}`, { maxRetriesPerRequest: 0 });
    viaProxy.on('error', () => {});
    const direct = client();
    const key = uniqueKey('lost-reply');
    const keys = queueKeys(key);
    await direct.rpush(key, 'failed-claim-1', 'failed-claim-2', 'next-3');
    const producer = await redisListProducerFactory({
      redis: viaProxy,
      key,
      batchSize: 2,
      blockTimeoutMs: 20,
      logger: silentLogger,
    })();
    const dropped = proxy.dropNextReply((chunk) => chunk.includes('failed-claim-1'));
    const signal = new AbortController().signal;
    // The failed claim: produce() reports nothing (it waits out its back-off).
    expect(await producer.produce(signal)).toBeUndefined();
    await dropped;
    const delivered: RedisMessage[] = [];
    for (let i = 0; i < 20 && delivered.length < 3; i++) {
      for (const m of ((await producer.produce(signal)) as RedisMessage[] | undefined) ?? []) {
        delivered.push(m);
        await producer.settle?.(m, { type: 'consumed' });
      }
    }
    // The repeated claim returned the first run's two messages, first deliveries both; then next-3.
    expect(delivered.map((m) => [m.body, m.deliveries])).toEqual([
      ['failed-claim-1', 1],
      ['failed-claim-2', 1],
      ['next-3', 1],
    ]);
    await producer.close?.();
    expect(await direct.llen(key)).toBe(0);
    expect(await direct.llen(keys.retry)).toBe(0);
    expect(await direct.scard(keys.consumers)).toBe(0);
  });
});
