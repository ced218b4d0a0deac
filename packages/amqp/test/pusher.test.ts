import { randomUUID } from 'node:crypto';
import {
  ConfirmAbortedError,
  DEATH_HEADER,
  InvalidOptionError,
  PublishRejectedError,
  type Pusher,
  readDeaths,
  silentLogger,
  UnroutableError,
} from '@q/core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import {
  AmqpConnection,
  type AmqpDelivery,
  AmqpPusher,
  type AmqpPusherOptions,
  type ClientChannel,
  type ClientMessage,
  PusherClosedError,
  Topology,
} from '../src/index.js';

const url = inject('amqpUrl');
let connection: AmqpConnection;
let admin: ClientChannel;
const queues: string[] = [];
const exchanges: string[] = [];

const unique = (what: string): string => `pusher-${what}-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  connection = new AmqpConnection({ url, logger: silentLogger });
  admin = await (await connection.ready()).createChannel();
});

afterAll(async () => {
  for (const q of queues) await admin.deleteQueue(q);
  for (const e of exchanges) await admin.deleteExchange(e);
  await connection.close();
});

function pusher(options: Partial<AmqpPusherOptions> & Pick<AmqpPusherOptions, 'exchange'>): AmqpPusher {
  return new AmqpPusher({ connection, logger: silentLogger, ...options } as AmqpPusherOptions);
}

async function queue(name = unique('q'), extra: Record<string, unknown> = {}): Promise<string> {
  queues.push(name);
  await admin.assertQueue(name, { durable: true, arguments: extra });
  return name;
}

/** Every message in `name`, acked. */
async function drain(name: string): Promise<ClientMessage[]> {
  const got: ClientMessage[] = [];
  for (let i = 0; i < 100_000; i += 1) {
    const message = await admin.get(name);
    if (message === false) break;
    admin.ack(message);
    got.push(message);
  }
  return got;
}

describe('AmqpPusher options', () => {
  it('refuses invalid options naming them', () => {
    const base = { connection: {} as AmqpConnection, exchange: '', routingKey: 'q' };
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ ...base, connection: undefined }, /"url"/],
      [{ ...base, url: 'amqp://x' }, /"url"/],
      [{ ...base, exchange: 3 }, /"exchange"/],
      [{ ...base, routingKey: undefined }, /"routingKey"/],
      [{ ...base, routingKeyOf: () => 'x' }, /"routingKey"/],
      [{ ...base, window: 0 }, /"window"/],
      [{ ...base, confirmTimeoutMs: 0 }, /"confirmTimeoutMs"/],
      [{ ...base, mandatory: 'yes' }, /"mandatory"/],
      [{ ...base, ttlMs: -1 }, /"ttlMs"/],
      [{ ...base, nackReason: 'full' }, /"nackReason"/],
      [{ ...base, chunkBytes: 0 }, /"chunkBytes"/],
    ];
    for (const [options, option] of bad) {
      expect(() => new AmqpPusher(options as unknown as AmqpPusherOptions)).toThrow(InvalidOptionError);
      expect(() => new AmqpPusher(options as unknown as AmqpPusherOptions)).toThrow(option);
    }
  });
});

describe('AmqpPusher on RabbitMQ', () => {
  it('pushAndConfirm stores a persistent message with its id, headers and properties', async () => {
    const name = await queue();
    const p = pusher({ exchange: '', routingKey: name, headers: { app: 'test', over: 'pusher' }, ttlMs: 60_000 });
    await p.pushAndConfirm({
      body: 'hello',
      headers: { over: 'message' },
      properties: { messageId: 'm-1', contentType: 'text/plain', expiration: '30000' },
    });
    await p.pushAndConfirm('second');
    await p.close();
    const [first, second] = await drain(name);
    expect(first?.content.toString()).toBe('hello');
    expect(first?.properties).toMatchObject({
      messageId: 'm-1',
      contentType: 'text/plain',
      deliveryMode: 2,
      expiration: '30000',
      headers: { app: 'test', over: 'message' },
    });
    expect(second?.properties.messageId).toMatch(/.+-\d+$/);
    expect(second?.properties.expiration).toBe('60000');
    expect(p.stats()).toMatchObject({ confirmed: 2, unroutable: 0, outstanding: 0 });
  });

  it('20,000 confirmed pushes are all in the queue exactly once', async () => {
    const name = await queue();
    const p = pusher({ exchange: '', routingKey: name });
    const total = 20_000;
    const confirms: Promise<void>[] = [];
    for (let i = 0; i < total; i += 1) {
      confirms.push(p.pushAndConfirm(String(i)));
      // Back-pressure of a bounded caller: a few thousand in flight at most.
      if (confirms.length % 4096 === 0) await Promise.all(confirms.slice(-4096));
    }
    await Promise.all(confirms);
    await p.close();
    const seen = new Map<string, number>();
    for (const m of await drain(name)) seen.set(m.content.toString(), (seen.get(m.content.toString()) ?? 0) + 1);
    expect(seen.size).toBe(total);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
  });

  it('an unroutable push rejects with UnroutableError while its routable neighbours in the chunk confirm', async () => {
    const exchange = unique('direct');
    exchanges.push(exchange);
    await admin.assertExchange(exchange, 'direct', { durable: true });
    const name = await queue();
    await admin.bindQueue(name, exchange, 'good');
    const p = pusher({
      exchange,
      routingKeyOf: (m) => ((m as { body: string }).body.startsWith('good') ? 'good' : 'nowhere'),
      flushIntervalMs: 50,
    });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) => p.pushAndConfirm({ body: i % 3 === 0 ? `bad-${i}` : `good-${i}` })),
    );
    await p.close();
    outcomes.forEach((outcome, i) => {
      if (i % 3 === 0) {
        expect(outcome.status).toBe('rejected');
        const error = (outcome as PromiseRejectedResult).reason;
        expect(error).toBeInstanceOf(UnroutableError);
        expect(error).toMatchObject({ destination: `${exchange}/nowhere`, reason: '312 NO_ROUTE' });
      } else expect(outcome.status).toBe('fulfilled');
    });
    const stored = (await drain(name)).map((m) => m.content.toString());
    expect(stored).toEqual(
      Array.from({ length: 100 }, (_, i) => i)
        .filter((i) => i % 3 !== 0)
        .map((i) => `good-${i}`),
    );
  });

  it('with mandatory false an unroutable push confirms (RabbitMQ acks and drops it)', async () => {
    const exchange = unique('lonely');
    exchanges.push(exchange);
    await admin.assertExchange(exchange, 'fanout', { durable: true });
    const p = pusher({ exchange, routingKey: '', mandatory: false });
    await expect(p.pushAndConfirm('lost')).resolves.toBeUndefined();
    await p.close();
  });

  it('a push to an exchange that does not exist rejects with UnroutableError', async () => {
    const p = pusher({ exchange: unique('missing'), routingKey: 'k' });
    await expect(p.pushAndConfirm('x')).rejects.toBeInstanceOf(UnroutableError);
    await p.close();
  });

  it('max-length reject-publish: the pushes past it reject with PublishRejectedError, exactly maxLength are stored', async () => {
    const name = unique('full');
    queues.push(name);
    const topology = new Topology({ queues: [{ name, maxLength: 10, overflow: 'reject-publish' }] });
    await topology.declare(admin);
    const p = pusher({ exchange: '', routingKey: name, topology });
    const outcomes = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => p.pushAndConfirm(String(i))));
    await p.close();
    const rejected = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason);
    expect(rejected).toHaveLength(20);
    for (const error of rejected) expect(error).toMatchObject({ code: 'Q_PUBLISH_REJECTED', reason: 'maxlen' });
    expect(rejected[0]).toBeInstanceOf(PublishRejectedError);
    expect(await drain(name)).toHaveLength(10);
  });

  it('a pusher with a topology on a live connection publishes only once its topology is declared', async () => {
    const name = unique('declared');
    queues.push(name);
    const p = pusher({ exchange: '', routingKey: name, topology: new Topology({ queues: [{ name }] }) });
    await p.pushAndConfirm('first');
    await p.close();
    expect(await drain(name)).toHaveLength(1);
  });

  it('a dead letter (info with cause) gets a q-death record naming the source queue', async () => {
    const name = await queue();
    const p = pusher({ exchange: '', routingKey: name, source: 'orders' });
    // What a Queue of amqpProducerFactory takes as its deadLetter.
    const asDeadLetter: Pusher<AmqpDelivery> = p;
    expect(asDeadLetter).toBe(p);
    await p.pushAndConfirm(
      { body: 'poison', properties: { expiration: '10' } },
      { cause: new Error('handler failed'), attempts: 3 },
    );
    await p.close();
    const [message] = await drain(name);
    expect(message?.properties.expiration).toBeUndefined();
    const deaths = readDeaths(message?.properties.headers?.[DEATH_HEADER] as Buffer | string | undefined);
    expect(deaths).toEqual([
      expect.objectContaining({ reason: 'rejected', queue: 'orders', count: 1, cause: 'handler failed' }),
    ]);
  });

  it('push hands over at once, counting the outcome, and failures go to onError', async () => {
    const errors: unknown[] = [];
    const p = pusher({ exchange: unique('absent'), routingKey: 'k', onError: (error) => errors.push(error) });
    await p.push('x');
    await p.flush();
    await until(() => errors.length === 1, 5_000, 'the failure');
    expect(errors[0]).toBeInstanceOf(UnroutableError);
    expect(p.stats().unroutable).toBe(1);
    await p.close();
  });

  it('pushBatch resolves once all are confirmed, in order; an aborted signal ends the wait', async () => {
    const name = await queue();
    const p = pusher({ exchange: '', routingKey: name });
    await p.pushBatch(['a', 'b', 'c']);
    await expect(p.pushBatch([])).resolves.toBeUndefined();
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(p.pushAndConfirm('never', { signal: controller.signal })).rejects.toBeInstanceOf(ConfirmAbortedError);
    await expect(p.pushBatch([{ body: 3 } as never])).rejects.toBeInstanceOf(InvalidOptionError);
    await p.close();
    expect((await drain(name)).map((m) => m.content.toString())).toEqual(['a', 'b', 'c']);
  });

  it('close() publishes what is buffered and confirms it, then refuses pushes; no handle left behind', async () => {
    const name = await queue();
    const baseline = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
    for (let round = 0; round < 10; round += 1) {
      const p = new AmqpPusher({ url, exchange: '', routingKey: name, logger: silentLogger, flushIntervalMs: 1000 });
      void p.push(`r${round}`);
      await p.close({ timeoutMs: 5_000 });
      await expect(p.pushAndConfirm('late')).rejects.toThrow();
    }
    expect(await drain(name)).toHaveLength(10);
    await until(
      () => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length <= baseline,
      5_000,
      'handles back to the baseline',
    );
    expect(PusherClosedError).toBeDefined();
  });
});
