import {
  AmqpConnection,
  type AmqpDelivery,
  type AmqpProducer,
  AmqpPusher,
  amqpProducerFactory,
  Topology,
} from '@q/amqp';
import { DEATH_HEADER, EXPIRES_AT_HEADER, InvalidOptionError, Queue, readDeaths, silentLogger } from '@q/core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { type Admin, admin, Tally, uniqueQueue } from './producer-fixtures.js';

const url = inject('amqpUrl');
let a: Admin;

beforeAll(async () => {
  a = await admin(url);
});
afterAll(async () => {
  await a.close();
});

describe('amqpProducerFactory through a Queue', () => {
  it('20,000 messages with 4 consumers: each handled exactly once, never more than prefetch unacked', async () => {
    const queue = uniqueQueue();
    await a.channel.assertQueue(queue, { durable: true });
    const sent = await a.fill(queue, 20_000);
    const prefetch = 300;
    const factory = amqpProducerFactory({ url, queue, prefetch, logger: silentLogger });
    const producer = (await factory()) as AmqpProducer;
    const tally = new Tally();
    let maxUnsettled = 0;
    const q = new Queue<AmqpDelivery>(
      factory,
      () => ({
        async consume(m) {
          maxUnsettled = Math.max(maxUnsettled, producer.stats().unsettled);
          tally.add(m.body.toString());
          if (tally.total % 97 === 0) await new Promise((r) => setImmediate(r));
        },
      }),
      { producers: 1, consumers: 4, capacity: 256, statsIntervalMs: 0, logger: silentLogger },
    );
    const done = q.start();
    await until(() => tally.total >= 20_000, 50_000);
    await q.stop();
    await done;
    expect(tally.missing(sent)).toEqual([]);
    expect(tally.duplicates).toBe(0);
    expect(maxUnsettled).toBeGreaterThan(0);
    expect(maxUnsettled).toBeLessThanOrEqual(prefetch);
    expect(await a.ready(queue)).toBe(0);
    expect(producer.stats()).toMatchObject({ delivered: 20_000, dropped: 0, consuming: false });
    await a.channel.deleteQueue(queue);
  });

  it('a failing handler rejects the message: the DLX queue gets it with x-death reason rejected', async () => {
    const queue = uniqueQueue();
    const dlx = `${queue}.dlx`;
    const dead = `${queue}.dead`;
    const topology = new Topology({
      exchanges: [{ name: dlx, type: 'fanout' }],
      queues: [{ name: queue, deadLetterExchange: dlx }, { name: dead }],
      bindings: [{ queue: dead, exchange: dlx }],
    });
    const factory = amqpProducerFactory({ url, queue, declare: topology, logger: silentLogger });
    const producer = (await factory()) as AmqpProducer;
    await until(() => producer.stats().consuming);
    const sent = await a.fill(queue, 200);
    const tally = new Tally();
    const q = new Queue<AmqpDelivery>(
      factory,
      () => ({
        consume(m) {
          const body = m.body.toString();
          tally.add(body);
          if (Number(body.slice(2)) % 10 === 0) throw new Error(`boom ${body}`);
        },
      }),
      { producers: 1, consumers: 2, statsIntervalMs: 0, logger: silentLogger },
    );
    const done = q.start();
    await until(() => tally.total >= 200);
    await until(async () => (await a.ready(dead)) === 20);
    await q.stop();
    await done;
    expect(tally.missing(sent)).toEqual([]);
    const letters = await a.drain(dead);
    expect(letters.map((m) => m.content.toString()).sort()).toEqual(sent.filter((_, i) => i % 10 === 0).sort());
    for (const m of letters) {
      const deaths = m.properties.headers?.['x-death'] as { reason: string; queue: string; count: number }[];
      expect(deaths[0]).toMatchObject({ reason: 'rejected', queue, count: 1 });
    }
    expect(await a.ready(queue)).toBe(0);
    await a.channel.deleteQueue(queue);
    await a.channel.deleteQueue(dead);
    await a.channel.deleteExchange(dlx);
  });

  it('stop mid-run requeues what it held: a new Queue handles the rest (received ⊇ sent)', async () => {
    const queue = uniqueQueue();
    await a.channel.assertQueue(queue, { durable: true });
    const sent = await a.fill(queue, 3000);
    const tally = new Tally();
    const factory = amqpProducerFactory({ url, queue, prefetch: 200, logger: silentLogger });
    const run = async (until: () => boolean): Promise<void> => {
      const q = new Queue<AmqpDelivery>(
        factory,
        () => ({
          async consume(m) {
            await new Promise((r) => setTimeout(r, 1));
            tally.add(m.body.toString());
          },
        }),
        { producers: 1, consumers: 4, capacity: 100, statsIntervalMs: 0, logger: silentLogger },
      );
      const done = q.start();
      const deadline = Date.now() + 40_000;
      while (!until() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      await q.stop({ timeoutMs: 2000 });
      await done;
    };
    await run(() => tally.total >= 500);
    const firstRun = tally.total;
    expect(firstRun).toBeLessThan(3000);
    // Nothing it took stays unacked or is lost: the rest is ready in the queue again (the broker
    // requeues a closed channel's deliveries a moment after the close).
    await until(async () => (await a.ready(queue)) === 3000 - firstRun, 10_000, 'the rest ready again');
    await run(() => tally.missing(sent).length === 0);
    expect(tally.missing(sent)).toEqual([]);
    expect(tally.duplicates).toBe(0);
    expect(await a.ready(queue)).toBe(0);
    await a.channel.deleteQueue(queue);
  });
});

describe('amqpProducerFactory options', () => {
  it('refuses bad options naming them', () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ queue: 'q' }, 'url'],
      [{ url, connection: {}, queue: 'q' }, 'url'],
      [{ url, queue: '' }, 'queue'],
      [{ url, queue: 'q', prefetch: 0 }, 'prefetch'],
      [{ url, queue: 'q', prefetch: 70_000 }, 'prefetch'],
      [{ url, queue: 'q', onFailure: 'drop' }, 'onFailure'],
      [{ url, queue: 'q', deliveryLimit: 0 }, 'deliveryLimit'],
      [{ url, queue: 'q', deadLetter: {} }, 'deadLetter'],
      [{ url, queue: 'q', declare: 'x' }, 'declare'],
      [{ url, queue: 'q', checkExpiry: 1 }, 'checkExpiry'],
      [{ url, queue: 'q', closeTimeoutMs: -1 }, 'closeTimeoutMs'],
      [{ url: 'http://x', queue: 'q' }, 'url'],
    ];
    for (const [options, name] of bad) {
      let error: unknown;
      try {
        const factory = amqpProducerFactory(options as never);
        // The URL's scheme is checked by the connection, made with the producer.
        void factory();
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(options)).toBeInstanceOf(InvalidOptionError);
      expect((error as InvalidOptionError).message).toContain(name);
    }
  });
});

describe('a consumer channel that closes while handlers hold its deliveries', () => {
  it('reopens; the late acks are dropped, never sent on the new channel (whose tags start again at 1)', async () => {
    const queue = uniqueQueue('reopen');
    await a.channel.assertQueue(queue, { durable: true });
    await a.fill(queue, 5, (i) => `old-${i}`);
    const factory = amqpProducerFactory({
      url,
      queue,
      prefetch: 10,
      declare: (channel) => channel.assertQueue(queue, { durable: true }),
      reopenBackoff: { minDelayMs: 50, maxDelayMs: 100 },
      logger: silentLogger,
    });
    const producer = (await factory()) as AmqpProducer;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const held = new Tally();
    const fresh = new Tally();
    const events: string[] = [];
    const q = new Queue<AmqpDelivery>(
      factory,
      () => ({
        async consume(m) {
          const body = m.body.toString();
          if (body.startsWith('old-')) {
            held.add(body);
            await gate;
          } else fresh.add(body);
        },
      }),
      { producers: 1, consumers: 8, statsIntervalMs: 0, logger: silentLogger },
    );
    q.on('pause', () => events.push('pause'));
    q.on('resume', () => events.push('resume'));
    const done = q.start();
    try {
      await until(() => held.total === 5, 10_000, '5 held');
      // Deleting the queue makes RabbitMQ cancel the consumer: the producer closes that channel and
      // opens another, whose declare makes the queue again.
      await a.channel.deleteQueue(queue);
      await until(() => events.join() === 'pause,resume', 10_000, 'pause, resume');
      const sent = await a.fill(queue, 50, (i) => `new-${i}`);
      await until(() => fresh.counts.size === 50, 10_000, 'new ones handled');
      release();
      await until(() => producer.stats().dropped === 5, 10_000, '5 acks dropped');
      await until(async () => (await a.ready(queue)) === 0, 10_000, 'queue empty');
      expect(fresh.missing(sent)).toEqual([]);
      expect(fresh.duplicates).toBe(0);
      // No channel error came of it: the new channel is the one consuming, with nothing unsettled.
      expect(events).toEqual(['pause', 'resume']);
      expect(producer.stats()).toMatchObject({ consuming: true, unsettled: 0 });
    } finally {
      release();
      await q.stop();
      await done;
    }
    await a.channel.deleteQueue(queue);
  });
});

describe('closing', () => {
  it('leaves no handle behind: 20 producers of their own connection and 20 on a shared one, opened and closed', async () => {
    const queue = uniqueQueue('leaks');
    await a.channel.assertQueue(queue, { durable: true });
    const resources = (): number => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
    const baseline = resources();
    const shared = new AmqpConnection({ url, logger: silentLogger });
    for (let i = 0; i < 20; i++) {
      for (const options of [{ url }, { connection: shared }]) {
        const producer = (await amqpProducerFactory({ ...options, queue, logger: silentLogger })()) as AmqpProducer;
        await until(() => producer.stats().consuming, 10_000, 'consuming');
        await producer.close();
      }
    }
    await shared.close();
    await until(() => resources() <= baseline, 10_000, 'handles back to the baseline');
    await a.channel.deleteQueue(queue);
  });

  it('an AmqpPusher serves as the deadLetter of expired messages', async () => {
    const queue = uniqueQueue('expired-to');
    const dead = `${queue}.dead`;
    await a.channel.assertQueue(queue, { durable: true });
    await a.channel.assertQueue(dead, { durable: true });
    await a.fill(
      queue,
      3,
      (i) => `expired-${i}`,
      () => ({ headers: { [EXPIRES_AT_HEADER]: '1' } }),
    );
    const deadLetter = new AmqpPusher({ url, exchange: '', routingKey: dead, logger: silentLogger });
    const producer = (await amqpProducerFactory({ url, queue, deadLetter, logger: silentLogger })()) as AmqpProducer;
    try {
      await until(() => producer.stats().deadLettered.expired === 3, 10_000, '3 expired');
      const letters = await a.drain(dead);
      expect(letters.map((m) => m.content.toString()).sort()).toEqual(['expired-0', 'expired-1', 'expired-2']);
      for (const m of letters) {
        // One record (ours, not a second one by the pusher), and no expiry left to expire again.
        expect(readDeaths(m.properties.headers?.[DEATH_HEADER] as string)).toEqual([
          expect.objectContaining({ reason: 'expired', queue, count: 1 }),
        ]);
        expect(m.properties.headers?.[EXPIRES_AT_HEADER]).toBeUndefined();
      }
      expect(await a.ready(queue)).toBe(0);
    } finally {
      await producer.close();
      await deadLetter.close();
    }
    await a.channel.deleteQueue(queue);
    await a.channel.deleteQueue(dead);
  });
});
