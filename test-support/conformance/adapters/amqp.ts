import { randomUUID } from 'node:crypto';
import { type AmqpDelivery, AmqpPusher, amqpProducerFactory, declareQueue, type QueueSpec } from '@q/amqp';
import { type DeathReason, type DeathRecord, type Pusher, readDeaths, silentLogger } from '@q/core';
import amqp from 'amqplib';
import { freePort } from '../../free-port.js';
import type { ConformanceAdapter, ConformanceMessage, Destination, DestinationOptions } from '../adapter.js';

const PREFETCH = 256;

/**
 * @q/amqp on RabbitMQ (`connection.url`): `AmqpPusher` in, `amqpProducerFactory` out; each queue
 * dead-letters through the default exchange to `<queue>.dlq`, so RabbitMQ's own dead letters
 * (TTL, max length, delivery limit, reject) and ours (a Queue's `deadLetter`) land in one place.
 */
export async function connect(connection: Record<string, unknown>): Promise<ConformanceAdapter> {
  const url = String(connection.url);
  const admin = await amqp.connect(url);
  const channel = await admin.createChannel();
  return {
    name: 'amqp',
    connection: { url },
    features: {
      perKeyOrder: true,
      nackRequeue: true,
      deliveryLimit: true,
      ttl: true,
      maxLength: ['drop-head', 'reject-publish'],
      mandatory: true,
    },
    // Unacked deliveries of a killed consumer come back: at most its prefetch.
    inFlightBound: PREFETCH,
    async destination(options: DestinationOptions = {}) {
      const name = `conf-${randomUUID()}`;
      const spec: QueueSpec = {
        name,
        durable: true,
        // x-delivery-limit is a quorum queue's; everything else runs on a classic one.
        ...(options.deliveryLimit !== undefined ? { type: 'quorum', deliveryLimit: options.deliveryLimit } : {}),
        ...(options.ttlMs !== undefined ? { messageTtlMs: options.ttlMs } : {}),
        ...(options.maxLength !== undefined ? { maxLength: options.maxLength } : {}),
        ...(options.overflow !== undefined ? { overflow: options.overflow } : {}),
        deadLetterExchange: '',
        deadLetterRoutingKey: `${name}.dlq`,
      };
      await declareQueue(channel, { name: `${name}.dlq`, durable: true });
      await declareQueue(channel, spec);
      return open(url, channel, { name, overflow: options.overflow });
    },
    reopen: async (config) => open(url, channel, config as { name: string }),
    async pushUnroutable(message) {
      const pusher = new AmqpPusher({ url, exchange: '', routingKey: `missing-${randomUUID()}`, logger: silentLogger });
      try {
        await pusher.pushAndConfirm(encode(message));
      } finally {
        await pusher.close({ timeoutMs: 5_000 });
      }
    },
    async pushUnreachable(message) {
      const port = await freePort();
      const pusher = new AmqpPusher({
        url: `amqp://guest:guest@127.0.0.1:${port}`,
        exchange: '',
        routingKey: 'anywhere',
        confirmTimeoutMs: 2_000,
        logger: silentLogger,
      });
      try {
        await pusher.pushAndConfirm(encode(message));
      } finally {
        await pusher.close({ timeoutMs: 2_000 }).catch(() => undefined);
      }
    },
    async close() {
      await admin.close();
    },
  };
}

const encode = (m: ConformanceMessage) => ({ body: m.id, headers: { key: m.key }, properties: { messageId: m.id } });

function open(url: string, channel: amqp.Channel, config: { name: string; overflow?: string }): Destination {
  const { name } = config;
  const dlq = `${name}.dlq`;
  return {
    name,
    config,
    pusher() {
      const pusher = new AmqpPusher({
        url,
        exchange: '',
        routingKey: name,
        flushIntervalMs: 1,
        // The pusher cannot tell a max-length nack from another: say which this queue gives.
        ...(config.overflow === 'reject-publish' ? { nackReason: 'maxlen' as const } : {}),
        logger: silentLogger,
      });
      return {
        name: () => pusher.name(),
        push: (m: ConformanceMessage) => pusher.pushAndConfirm(encode(m)),
        pushAndConfirm: (m: ConformanceMessage) => pusher.pushAndConfirm(encode(m)),
        close: () => pusher.close({ timeoutMs: 5_000 }),
      };
    },
    producerFactory() {
      return amqpProducerFactory({ url, queue: name, prefetch: PREFETCH, onFailure: 'requeue', logger: silentLogger });
    },
    deadLetterPusher() {
      const pusher = new AmqpPusher({ url, exchange: '', routingKey: dlq, source: name, logger: silentLogger });
      const dead: Pusher<unknown> & { close(): Promise<void> } = {
        name: () => pusher.name(),
        push: (m, info) => {
          const delivery = m as AmqpDelivery;
          return pusher.pushAndConfirm({ body: delivery.body, headers: delivery.headers }, info);
        },
        close: () => pusher.close({ timeoutMs: 5_000 }),
      };
      return dead;
    },
    decode(message) {
      const delivery = message as AmqpDelivery;
      return { id: delivery.body.toString(), key: String(delivery.headers.key ?? ''), deliveries: delivery.deliveries };
    },
    async deadLetters() {
      const out: { id: string; deaths: DeathRecord[] }[] = [];
      for (;;) {
        const got = await channel.get(dlq, { noAck: true });
        if (got === false) return out;
        const headers = got.properties.headers ?? {};
        const ours = readDeaths(headers['q-death'] as string | undefined);
        out.push({ id: got.content.toString(), deaths: ours.length > 0 ? ours : fromXDeath(headers['x-death']) });
      }
    },
    async dispose() {
      await channel.deleteQueue(name).catch(() => undefined);
      await channel.deleteQueue(dlq).catch(() => undefined);
    },
  };
}

/** RabbitMQ's `x-death` entries in our record's shape (the suite reads one shape everywhere). */
function fromXDeath(value: unknown): DeathRecord[] {
  if (!Array.isArray(value)) return [];
  return value.map((entry: Record<string, unknown>) => {
    const time = entry.time as { value?: number } | number | undefined;
    const seconds = typeof time === 'number' ? time : (time?.value ?? 0);
    return {
      reason: String(entry.reason).replace('_', '-') as DeathReason,
      queue: String(entry.queue),
      count: Number(entry.count),
      time: seconds * 1000,
    };
  });
}
