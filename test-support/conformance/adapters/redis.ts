import { randomUUID } from 'node:crypto';
import { type Pusher, readDeaths, silentLogger } from '@q/core';
import { RedisListPusher, type RedisMessage, redisListProducerFactory, unwrapEnvelope, wrapEnvelope } from '@q/redis';
import { Redis } from 'ioredis';
import { freePort } from '../../free-port.js';
import type { ConformanceAdapter, ConformanceMessage, Destination, DestinationOptions } from '../adapter.js';

const BATCH = 64;

/**
 * @q/redis (at-least-once) on `connection.url`: `RedisListPusher` in, `redisListProducerFactory`
 * out, `<list>:dlq` (same hash tag) for dead letters, written by the pusher's script (max length),
 * the producer (expired, delivery limit) or the Queue's `deadLetter` (a handler's failure).
 */
export async function connect(connection: Record<string, unknown>): Promise<ConformanceAdapter> {
  const url = String(connection.url);
  const redis = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
  const clients: Redis[] = [redis];
  return {
    name: 'redis',
    connection: { url },
    features: {
      perKeyOrder: true,
      nackRequeue: true,
      deliveryLimit: true,
      ttl: true,
      maxLength: ['drop-head', 'reject-publish'],
      mandatory: true,
    },
    // A killed consumer's claimed messages come back when its lease ends: at most what it had claimed
    // (a claim batch per producer loop, the queue's channel, its handlers) and not yet acked.
    inFlightBound: 1_024,
    async destination(options: DestinationOptions = {}) {
      return open(redis, { key: `{conf-${randomUUID()}}`, ...options });
    },
    reopen: async (config) => {
      const own = new Redis(url, { maxRetriesPerRequest: null });
      clients.push(own);
      return open(own, config as { key: string });
    },
    async pushUnroutable(message) {
      const pusher = new RedisListPusher({
        redis,
        key: `{missing-${randomUUID()}}`,
        mandatory: true,
        logger: silentLogger,
      });
      try {
        await pusher.pushAndConfirm(encode(message));
      } finally {
        await pusher.close();
      }
    },
    async pushUnreachable(message) {
      const port = await freePort();
      // What bounds the wait is the client's policy: ioredis fails a command after its retries.
      const client = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
      client.on('error', () => undefined); // the refused connects are the point
      const pusher = new RedisListPusher({ redis: client, key: 'anywhere', logger: silentLogger });
      try {
        await pusher.pushAndConfirm(encode(message));
      } finally {
        await pusher.close().catch(() => undefined);
        client.disconnect();
      }
    },
    async close() {
      for (const client of clients) client.disconnect();
    },
  };
}

const encode = (m: ConformanceMessage): string => wrapEnvelope(m.id, { key: m.key });

function open(redis: Redis, config: { key: string } & DestinationOptions): Destination {
  const { key } = config;
  const dlq = `${key}:dlq`;
  const deadPusher = (): RedisListPusher =>
    new RedisListPusher({ redis, key: dlq, source: key, flushIntervalMs: 1, logger: silentLogger });
  return {
    name: key,
    config: { ...config },
    pusher() {
      const pusher = new RedisListPusher({
        redis,
        key,
        flushIntervalMs: 1,
        logger: silentLogger,
        ...(config.ttlMs !== undefined ? { ttlMs: config.ttlMs } : {}),
        ...(config.maxLength !== undefined ? { maxLength: config.maxLength } : {}),
        ...(config.overflow !== undefined ? { overflow: config.overflow } : {}),
        ...(config.overflow === 'drop-head' ? { deadLetterKey: dlq } : {}),
      });
      return {
        name: () => pusher.name(),
        push: (m: ConformanceMessage) => pusher.pushAndConfirm(encode(m)),
        pushAndConfirm: (m: ConformanceMessage) => pusher.pushAndConfirm(encode(m)),
        close: () => pusher.close(),
      };
    },
    producerFactory() {
      return redisListProducerFactory({
        redis,
        key,
        mode: 'at-least-once',
        batchSize: BATCH,
        blockTimeoutMs: 200,
        leaseMs: 2_000,
        deadLetter: deadPusher(),
        ...(config.deliveryLimit !== undefined ? { maxDeliveries: config.deliveryLimit } : {}),
        logger: silentLogger,
      }) as never;
    },
    deadLetterPusher() {
      const pusher = deadPusher();
      const dead: Pusher<unknown> & { close(): Promise<void> } = {
        name: () => pusher.name(),
        push: (m, info) => pusher.pushAndConfirm((m as RedisMessage).body, info),
        close: () => pusher.close(),
      };
      return dead;
    },
    decode(message) {
      const m = message as RedisMessage;
      const { body, headers } = unwrapEnvelope(m.body);
      return { id: String(body), key: headers.key ?? '', deliveries: m.deliveries };
    },
    async deadLetters() {
      const items = await redis.lrange(dlq, 0, -1);
      return items.map((item) => {
        const { body, headers } = unwrapEnvelope(item);
        return { id: String(body), deaths: readDeaths(headers['q-death']) };
      });
    },
    async dispose() {
      const keys = await redis.keys(`${key}*`);
      if (keys.length > 0) await redis.del(...keys);
    },
  };
}
