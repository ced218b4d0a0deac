/**
 * AmqpPusher with `ttlMs` stamps core's `q-expires-at` besides `expiration`: RabbitMQ's property
 * does not survive a move to another adapter (a Redis list, a Kafka topic), the header does, and any
 * `@q` producer checks it. Counted end to end through RabbitMQ.
 */
import { randomUUID } from 'node:crypto';
import { EXPIRES_AT_HEADER, isExpired, silentLogger } from '@q/core';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { AmqpConnection, AmqpPusher, type ClientChannel, type ClientMessage } from '../src/index.js';

const url = inject('amqpUrl');
let connection: AmqpConnection;
let admin: ClientChannel;
const queue = `pusher-expiry-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  connection = new AmqpConnection({ url, logger: silentLogger });
  admin = await (await connection.ready()).createChannel();
  await admin.assertQueue(queue, { durable: true });
});

afterAll(async () => {
  await admin.deleteQueue(queue);
  await connection.close();
});

/** The `count` messages in the queue, in order, acked. */
async function take(count: number): Promise<ClientMessage[]> {
  const got: ClientMessage[] = [];
  for (let i = 0; i < 1_000 && got.length < count; i++) {
    const message = await admin.get(queue);
    if (message === false) break;
    admin.ack(message);
    got.push(message);
  }
  expect(got).toHaveLength(count);
  return got;
}

function stamp(message: ClientMessage | undefined): number | undefined {
  const value = message?.properties.headers?.[EXPIRES_AT_HEADER];
  if (value === undefined) return undefined;
  return Number(Buffer.isBuffer(value) ? value.toString('latin1') : value);
}

it('ttlMs stamps q-expires-at (the earlier of a carried one and now + ttlMs) next to expiration', async () => {
  const ttlMs = 60_000;
  const pusher = new AmqpPusher({ connection, exchange: '', routingKey: queue, ttlMs, logger: silentLogger });
  const before = Date.now();
  const soon = before + 5_000;
  const late = before + 3_600_000;
  await pusher.pushBatch([
    'plain',
    { body: 'earlier carried', headers: { [EXPIRES_AT_HEADER]: String(soon) } },
    { body: 'later carried', headers: { [EXPIRES_AT_HEADER]: String(late) } },
  ]);
  const after = Date.now();
  await pusher.close();
  const [plain, earlier, later] = await take(3);
  expect(plain?.properties.expiration).toBe(String(ttlMs));
  expect(stamp(plain)).toBeGreaterThanOrEqual(before + ttlMs);
  expect(stamp(plain)).toBeLessThanOrEqual(after + ttlMs);
  expect(stamp(earlier)).toBe(soon);
  expect(stamp(later)).toBeGreaterThanOrEqual(before + ttlMs);
  expect(stamp(later)).toBeLessThanOrEqual(after + ttlMs);
  // What another adapter's producer reads: not expired yet, expired past the stamp.
  const header = plain?.properties.headers?.[EXPIRES_AT_HEADER] as string | Buffer;
  expect(isExpired(header)).toBe(false);
  expect(isExpired(header, after + ttlMs + 1)).toBe(true);
});

it('without ttlMs no stamp is added; a dead letter loses its old stamp (and gets a fresh one only with ttlMs)', async () => {
  const past = String(Date.now() - 1_000);
  const plain = new AmqpPusher({ connection, exchange: '', routingKey: queue, logger: silentLogger });
  const withTtl = new AmqpPusher({ connection, exchange: '', routingKey: queue, ttlMs: 30_000, logger: silentLogger });
  const before = Date.now();
  await plain.pushAndConfirm('no ttl');
  await plain.pushAndConfirm({ body: 'kept', headers: { [EXPIRES_AT_HEADER]: past } });
  await plain.pushAndConfirm(
    { body: 'dead, no ttl', headers: { [EXPIRES_AT_HEADER]: past } },
    { cause: new Error('expired'), reason: 'expired' },
  );
  await withTtl.pushAndConfirm(
    { body: 'dead, ttl', headers: { [EXPIRES_AT_HEADER]: past } },
    { cause: new Error('expired'), reason: 'expired' },
  );
  await plain.close();
  await withTtl.close();
  const [none, kept, deadNoTtl, deadTtl] = await take(4);
  expect(stamp(none)).toBeUndefined();
  expect(stamp(kept)).toBe(Number(past));
  expect(stamp(deadNoTtl)).toBeUndefined();
  expect(stamp(deadTtl)).toBeGreaterThanOrEqual(before + 30_000);
});
