import { type AmqpDelivery, type AmqpProducer, amqpProducerFactory, Topology } from '@q/amqp';
import {
  DEATH_HEADER,
  type DeathRecord,
  EXPIRES_AT_HEADER,
  type Pusher,
  Queue,
  readDeaths,
  silentLogger,
} from '@q/core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { delay, until } from '../../../test-support/wait.js';
import { type Admin, admin, Tally, uniqueQueue } from './producer-fixtures.js';

const url = inject('amqpUrl');
let a: Admin;

beforeAll(async () => {
  a = await admin(url);
});
afterAll(async () => {
  await a.close();
});

/** A dead-letter pusher that keeps what it was given (failing the first `failures` pushes). */
function capture(failures = 0): Pusher<AmqpDelivery> & { got: { body: string; deaths: DeathRecord[] }[] } {
  const got: { body: string; deaths: DeathRecord[] }[] = [];
  let left = failures;
  return {
    got,
    name: () => 'capture',
    async pushAndConfirm(message: AmqpDelivery) {
      if (left-- > 0) throw new Error('dead-letter store down');
      got.push({ body: message.body.toString(), deaths: readDeaths(message.headers[DEATH_HEADER] as string) });
    },
    push(message: AmqpDelivery) {
      return this.pushAndConfirm?.(message);
    },
  };
}

/** Runs a Queue over `factory` with `handler` until `done()` holds, then stops it. */
async function runQueue(
  factory: ReturnType<typeof amqpProducerFactory>,
  handler: (m: AmqpDelivery) => void | Promise<void>,
  done: () => boolean | Promise<boolean>,
): Promise<void> {
  const q = new Queue<AmqpDelivery>(factory, () => ({ consume: handler }), {
    producers: 1,
    consumers: 2,
    statsIntervalMs: 0,
    logger: silentLogger,
  });
  const running = q.start();
  try {
    await until(done, 20_000);
  } finally {
    await q.stop({ timeoutMs: 2000 });
    await running;
  }
}

describe('delivery counts', () => {
  it('classic queue, onFailure republish: deliveries 1, 2, 3, then dead-lettered past deliveryLimit 3', async () => {
    const queue = uniqueQueue('counts');
    await a.channel.assertQueue(queue, { durable: true });
    const sent = await a.fill(queue, 20);
    const deadLetter = capture();
    const seen = new Map<string, number[]>();
    const factory = amqpProducerFactory({
      url,
      queue,
      onFailure: 'republish',
      deliveryLimit: 3,
      deadLetter,
      logger: silentLogger,
    });
    await runQueue(
      factory,
      (m) => {
        const body = m.body.toString();
        seen.set(body, [...(seen.get(body) ?? []), m.deliveries]);
        throw new Error('always fails');
      },
      () => deadLetter.got.length === 20,
    );
    for (const body of sent) expect(seen.get(body)).toEqual([1, 2, 3]);
    for (const d of deadLetter.got) {
      expect(d.deaths).toEqual([
        expect.objectContaining({ reason: 'delivery-limit', queue, count: 1, exchange: '', routingKeys: [queue] }),
      ]);
    }
    await until(async () => (await a.ready(queue)) === 0, 5000);
    await a.channel.deleteQueue(queue);
  });

  it('quorum queue, onFailure requeue: deliveries come from x-delivery-count', async () => {
    const queue = uniqueQueue('quorum');
    const factory = amqpProducerFactory({
      url,
      queue,
      onFailure: 'requeue',
      declare: new Topology({ queues: [{ name: queue, type: 'quorum' }] }),
      logger: silentLogger,
    });
    const producer = (await factory()) as AmqpProducer;
    await until(() => producer.stats().consuming);
    const sent = await a.fill(queue, 10);
    const seen = new Map<string, number[]>();
    const tally = new Tally();
    await runQueue(
      factory,
      (m) => {
        const body = m.body.toString();
        const counts = [...(seen.get(body) ?? []), m.deliveries];
        seen.set(body, counts);
        if (counts.length < 3) throw new Error('fails twice');
        tally.add(body);
      },
      () => tally.counts.size === 10,
    );
    for (const body of sent) expect(seen.get(body)).toEqual([1, 2, 3]);
    await a.channel.deleteQueue(queue);
  });

  it('without a deadLetter pusher, past deliveryLimit is rejected to the DLX (RabbitMQ says rejected)', async () => {
    const queue = uniqueQueue('limit');
    const dlx = `${queue}.dlx`;
    const dead = `${queue}.dead`;
    const topology = new Topology({
      exchanges: [{ name: dlx, type: 'fanout' }],
      queues: [{ name: queue, deadLetterExchange: dlx }, { name: dead }],
      bindings: [{ queue: dead, exchange: dlx }],
    });
    await a.channel.assertExchange(dlx, 'fanout', { durable: true });
    await a.channel.assertQueue(dead, { durable: true });
    await a.channel.bindQueue(dead, dlx, '');
    await a.channel.assertQueue(queue, { durable: true, arguments: { 'x-dead-letter-exchange': dlx } });
    // Already redelivered once by the broker's count of our header: the first delivery here is the 3rd.
    await a.fill(queue, 5, undefined, () => ({ headers: { 'q-delivery-count': 2 } }));
    const handled = new Tally();
    const factory = amqpProducerFactory({ url, queue, declare: topology, deliveryLimit: 2, logger: silentLogger });
    await runQueue(
      factory,
      (m) => handled.add(m.body.toString()),
      async () => (await a.ready(dead)) === 5,
    );
    expect(handled.total).toBe(0);
    const letters = await a.drain(dead);
    expect(
      letters.map((m) => (m.properties.headers?.['x-death'] as { reason: string }[] | undefined)?.[0]?.reason),
    ).toEqual(Array(5).fill('rejected'));
    await a.channel.deleteQueue(queue);
    await a.channel.deleteQueue(dead);
    await a.channel.deleteExchange(dlx);
  });
});

describe('lazy expiry of q-expires-at', () => {
  it('expired messages are never handled and go to the dead-letter pusher with reason expired; live ones are handled', async () => {
    const queue = uniqueQueue('expiry');
    await a.channel.assertQueue(queue, { durable: true });
    const now = Date.now();
    await a.fill(
      queue,
      40,
      (i) => (i % 2 === 0 ? `expired-${i}` : `live-${i}`),
      (i) => ({ headers: { [EXPIRES_AT_HEADER]: String(i % 2 === 0 ? now - 1000 : now + 600_000) } }),
    );
    // The dead-letter store fails twice first: the message waits (unacked) and is pushed again.
    const deadLetter = capture(2);
    const handled = new Tally();
    const factory = amqpProducerFactory({
      url,
      queue,
      deadLetter,
      reopenBackoff: { minDelayMs: 5, maxDelayMs: 20 },
      logger: silentLogger,
    });
    await runQueue(
      factory,
      (m) => handled.add(m.body.toString()),
      () => handled.total === 20 && deadLetter.got.length === 20,
    );
    expect([...handled.counts.keys()].every((b) => b.startsWith('live-'))).toBe(true);
    expect(deadLetter.got.every((d) => d.body.startsWith('expired-'))).toBe(true);
    for (const d of deadLetter.got) expect(d.deaths).toEqual([expect.objectContaining({ reason: 'expired', queue })]);
    expect(new Set(deadLetter.got.map((d) => d.body)).size).toBe(20);
    await delay(50);
    expect(await a.ready(queue)).toBe(0);
    await a.channel.deleteQueue(queue);
  });

  it('checkExpiry: false hands expired messages to the handler', async () => {
    const queue = uniqueQueue('expiry-off');
    await a.channel.assertQueue(queue, { durable: true });
    await a.fill(queue, 5, undefined, () => ({ headers: { [EXPIRES_AT_HEADER]: '1' } }));
    const handled = new Tally();
    const factory = amqpProducerFactory({ url, queue, checkExpiry: false, logger: silentLogger });
    await runQueue(
      factory,
      (m) => handled.add(m.body.toString()),
      () => handled.total === 5,
    );
    await a.channel.deleteQueue(queue);
  });
});

describe('the message', () => {
  it('carries body, headers, properties and fields', async () => {
    const queue = uniqueQueue('shape');
    await a.channel.assertQueue(queue, { durable: true });
    await a.fill(
      queue,
      1,
      () => 'hello',
      () => ({
        headers: { h: 'v' },
        messageId: 'id-1',
        correlationId: 'c-1',
        replyTo: 'r',
        contentType: 'text/plain',
        type: 't',
        appId: 'app',
        timestamp: 1234,
        priority: 3,
      }),
    );
    let got: AmqpDelivery | undefined;
    await runQueue(
      amqpProducerFactory({ url, queue, logger: silentLogger }),
      (m) => {
        got = m;
      },
      () => got !== undefined,
    );
    expect(got?.body.toString()).toBe('hello');
    expect(got?.headers).toEqual({ h: 'v' });
    expect(got?.properties).toEqual({
      messageId: 'id-1',
      correlationId: 'c-1',
      replyTo: 'r',
      contentType: 'text/plain',
      type: 't',
      appId: 'app',
      timestamp: 1234,
      priority: 3,
      deliveryMode: 2,
    });
    expect(got?.fields).toMatchObject({ redelivered: false, exchange: '', routingKey: queue });
    expect(got?.fields.deliveryTag).toBeGreaterThan(0);
    expect(got?.fields.consumerTag).toMatch(/./);
    expect(got?.deliveries).toBe(1);
    await a.channel.deleteQueue(queue);
  });
});
