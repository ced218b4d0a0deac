import { randomUUID } from 'node:crypto';
import { InvalidOptionError, silentLogger, UnsupportedFeatureError } from '@q/core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import {
  AmqpConnection,
  bindQueue,
  type ClientConfirmChannel,
  type ClientMessage,
  declareExchange,
  declareQueue,
  queueOptions,
  Topology,
} from '../src/index.js';

const url = inject('amqpUrl');
let connection: AmqpConnection;
let channel: ClientConfirmChannel;
const queues: string[] = [];
const exchanges: string[] = [];

const unique = (what: string): string => `topology-${what}-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  connection = new AmqpConnection({ url, logger: silentLogger });
  channel = await (await connection.ready()).createConfirmChannel();
});

afterAll(async () => {
  const cleanup = await (await connection.ready()).createChannel();
  for (const q of queues) await cleanup.deleteQueue(q);
  for (const e of exchanges) await cleanup.deleteExchange(e);
  await connection.close();
});

/** Publishes one persistent message and resolves with the broker's confirm. */
function publish(exchange: string, routingKey: string, body: string, expiration?: string): Promise<'ack' | 'nack'> {
  return new Promise((resolve) => {
    channel.publish(
      exchange,
      routingKey,
      Buffer.from(body),
      { persistent: true, ...(expiration === undefined ? {} : { expiration }) },
      (error) => resolve(error === null || error === undefined ? 'ack' : 'nack'),
    );
  });
}

/** Every message in `queue` now, acked. */
async function drain(queue: string): Promise<ClientMessage[]> {
  const got: ClientMessage[] = [];
  for (let i = 0; i < 10_000; i += 1) {
    const message = await channel.get(queue);
    if (message === false) break;
    channel.ack(message);
    got.push(message);
  }
  return got;
}

/** RabbitMQ's x-death entries of `message`, newest first. */
function deathsOf(message: ClientMessage | undefined): Record<string, unknown>[] {
  return (message?.properties.headers?.['x-death'] as Record<string, unknown>[] | undefined) ?? [];
}

/** A fanout exchange and a queue bound to it, to receive dead letters. */
async function deadLetterTarget(): Promise<{ exchange: string; queue: string }> {
  const exchange = unique('dlx');
  const queue = unique('dlq');
  exchanges.push(exchange);
  queues.push(queue);
  await declareExchange(channel, { name: exchange, type: 'fanout' });
  await declareQueue(channel, { name: queue });
  await bindQueue(channel, { queue, exchange });
  return { exchange, queue };
}

describe('queueOptions', () => {
  it('maps the named options to their x- arguments', () => {
    expect(
      queueOptions({
        name: 'q',
        type: 'quorum',
        messageTtlMs: 200,
        expiresMs: 1000,
        maxLength: 2,
        maxLengthBytes: 1024,
        overflow: 'reject-publish',
        deadLetterExchange: 'dlx',
        deadLetterRoutingKey: 'dead',
        deliveryLimit: 3,
        arguments: { 'x-single-active-consumer': true },
      }),
    ).toEqual({
      durable: true,
      exclusive: false,
      autoDelete: false,
      arguments: {
        'x-single-active-consumer': true,
        'x-queue-type': 'quorum',
        'x-message-ttl': 200,
        'x-expires': 1000,
        'x-max-length': 2,
        'x-max-length-bytes': 1024,
        'x-overflow': 'reject-publish',
        'x-dead-letter-exchange': 'dlx',
        'x-dead-letter-routing-key': 'dead',
        'x-delivery-limit': 3,
      },
    });
  });

  it('refuses what RabbitMQ 3.10 accepts but does not honour, and malformed options', () => {
    expect(() =>
      queueOptions({ name: 'q', type: 'quorum', overflow: 'reject-publish-dlx', deadLetterExchange: 'x' }),
    ).toThrow(UnsupportedFeatureError);
    expect(() => queueOptions({ name: 'q', deliveryLimit: 3 })).toThrow(UnsupportedFeatureError);
    const invalid: [Parameters<typeof queueOptions>[0], RegExp][] = [
      [{ name: '' }, /queue\.name/],
      [{ name: 'q', type: 'stream' as never }, /queue\.type/],
      [{ name: 'q', maxLength: -1 }, /queue\.maxLength/],
      [{ name: 'q', messageTtlMs: 1.5 }, /queue\.messageTtlMs/],
      [{ name: 'q', expiresMs: 0 }, /queue\.expiresMs/],
      [{ name: 'q', overflow: 'drop-tail' as never }, /queue\.overflow/],
      [{ name: 'q', overflow: 'reject-publish-dlx' }, /queue\.deadLetterExchange/],
      [{ name: 'q', deadLetterRoutingKey: 'k' }, /queue\.deadLetterRoutingKey/],
      [{ name: 'q', type: 'quorum', durable: false }, /queue\.durable/],
      [{ name: 'q', type: 'quorum', exclusive: true }, /queue\.exclusive/],
      [{ name: 'q', arguments: { 'x-max-length': 3 } }, /maxLength/],
    ];
    for (const [spec, option] of invalid) {
      expect(() => queueOptions(spec)).toThrow(InvalidOptionError);
      expect(() => queueOptions(spec)).toThrow(option);
    }
    expect(() => new Topology({ exchanges: [{ name: 'amq.direct', type: 'direct' }] })).toThrow(/exchanges\[0\]\.name/);
    expect(() => new Topology({ queues: [{ name: 'ok' }, { name: 'q', maxLength: -1 }] })).toThrow(
      /queues\[1\]\.maxLength/,
    );
  });
});

describe('declared on RabbitMQ', () => {
  it('x-max-length 2 with reject-publish: the third confirmed publish is nacked, two are stored', async () => {
    const name = unique('maxlen');
    queues.push(name);
    await declareQueue(channel, { name, maxLength: 2, overflow: 'reject-publish' });
    const confirms = [];
    for (const body of ['m0', 'm1', 'm2']) confirms.push(await publish('', name, body));
    expect(confirms).toEqual(['ack', 'ack', 'nack']);
    expect((await drain(name)).map((m) => m.content.toString())).toEqual(['m0', 'm1']);
  });

  it('x-max-length-bytes with reject-publish refuses the body that does not fit', async () => {
    const name = unique('maxbytes');
    queues.push(name);
    await declareQueue(channel, { name, maxLengthBytes: 10, overflow: 'reject-publish' });
    expect(await publish('', name, '123456')).toBe('ack');
    expect(await publish('', name, '123456')).toBe('nack');
    expect(await drain(name)).toHaveLength(1);
  });

  it('drop-head with a dead-letter exchange keeps the newest and dead-letters the oldest with reason maxlen', async () => {
    const target = await deadLetterTarget();
    const name = unique('drophead');
    queues.push(name);
    await declareQueue(channel, { name, maxLength: 2, overflow: 'drop-head', deadLetterExchange: target.exchange });
    for (const body of ['m0', 'm1', 'm2', 'm3']) expect(await publish('', name, body)).toBe('ack');
    expect((await drain(name)).map((m) => m.content.toString())).toEqual(['m2', 'm3']);
    let dead: ClientMessage[] = [];
    await until(async () => (dead = dead.concat(await drain(target.queue))).length >= 2, 5_000, 'the dead letters');
    expect(dead.map((m) => m.content.toString())).toEqual(['m0', 'm1']);
    expect(deathsOf(dead[0])[0]?.reason).toBe('maxlen');
  });

  it('x-message-ttl 200 ms dead-letters with x-death reason expired, naming the queue', async () => {
    const target = await deadLetterTarget();
    const name = unique('ttl');
    queues.push(name);
    await declareQueue(channel, {
      name,
      messageTtlMs: 200,
      deadLetterExchange: target.exchange,
      deadLetterRoutingKey: 'late',
    });
    expect(await publish('', name, 'stale')).toBe('ack');
    let dead: ClientMessage[] = [];
    await until(async () => (dead = await drain(target.queue)).length === 1, 5_000, 'the expired message');
    const [message] = dead;
    expect(deathsOf(message)[0]).toMatchObject({ reason: 'expired', queue: name, count: 1, 'routing-keys': [name] });
    expect(message?.fields.routingKey).toBe('late');
  });

  it('x-expires deletes the unused queue', async () => {
    const name = unique('expires');
    await declareQueue(channel, { name, expiresMs: 300 });
    // A passive declare renews the lease as a declare does: look once, well after it ran out.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const check = await (await connection.ready()).createChannel();
    await expect(check.checkQueue(name)).rejects.toThrow(/NOT_FOUND/);
  });

  it('a quorum queue with deliveryLimit 1 delivers twice, then dead-letters with reason delivery_limit', async () => {
    const target = await deadLetterTarget();
    const name = unique('quorum');
    queues.push(name);
    await declareQueue(channel, { name, type: 'quorum', deliveryLimit: 1, deadLetterExchange: target.exchange });
    expect(await publish('', name, 'poison')).toBe('ack');
    let deliveries = 0;
    let dead: ClientMessage[] = [];
    for (let i = 0; i < 100 && dead.length === 0; i += 1) {
      const message = await channel.get(name);
      if (message === false) {
        dead = await drain(target.queue);
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      deliveries += 1;
      channel.nack(message, false, true);
    }
    expect(deliveries).toBe(2);
    expect(dead).toHaveLength(1);
    expect(deathsOf(dead[0])[0]).toMatchObject({ reason: 'delivery_limit', queue: name });
  });

  it('a Topology is declared again after every reconnect', async () => {
    const exchange = unique('ex');
    const queue = unique('redeclared');
    exchanges.push(exchange);
    queues.push(queue);
    const topology = new Topology({
      exchanges: [{ name: exchange, type: 'direct' }],
      queues: [{ name: queue, maxLength: 5 }],
      bindings: [{ queue, exchange, routingKey: 'k' }],
    });
    const own = new AmqpConnection({ url, logger: silentLogger, reconnect: { minDelayMs: 10, maxDelayMs: 50 } });
    try {
      own.onConnect(topology.setup);
      const first = await own.ready();
      expect(await publish(exchange, 'k', 'routed')).toBe('ack');
      expect(await drain(queue)).toHaveLength(1);
      await channel.deleteQueue(queue);
      first.destroy();
      await until(async () => own.connected && (await own.ready()) !== first, 10_000, 'the reconnect');
      expect(await publish(exchange, 'k', 'routed again')).toBe('ack');
      expect((await drain(queue)).map((m) => m.content.toString())).toEqual(['routed again']);
    } finally {
      await own.close();
    }
  });
});
