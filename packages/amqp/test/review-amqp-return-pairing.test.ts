import { randomUUID } from 'node:crypto';
import { silentLogger, UnroutableError } from '@q/core';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { AmqpConnection, AmqpPusher, type ClientChannel } from '../src/index.js';

const url = inject('amqpUrl');
let connection: AmqpConnection;
let admin: ClientChannel;
const queue = `review-return-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  connection = new AmqpConnection({ url, logger: silentLogger });
  admin = await (await connection.ready()).createChannel();
  await admin.assertQueue(queue, { durable: true });
});

afterAll(async () => {
  await admin.deleteQueue(queue);
  await connection.close();
});

// A return carries exchange and routing key: pairing it by message id alone marks the wrong publish
// when two outstanding publishes share an id (one event fanned out by routing key, a re-push).
it('DEFECT return-pairing: a basic.return is paired with the publish it is for, not the oldest with the same id', async () => {
  const pusher = new AmqpPusher({ connection, exchange: '', routingKey: queue, logger: silentLogger });
  const rounds = 20;
  let routableRejected = 0;
  let unroutableConfirmed = 0;
  for (let i = 0; i < rounds; i++) {
    const id = `same-${i}`;
    const routable = pusher.pushAndConfirm({ body: `r-${i}`, routingKey: queue, properties: { messageId: id } });
    const unroutable = pusher.pushAndConfirm({
      body: `u-${i}`,
      routingKey: `nowhere-${randomUUID()}`,
      properties: { messageId: id },
    });
    const [a, b] = await Promise.allSettled([routable, unroutable]);
    if (a.status === 'rejected' && a.reason instanceof UnroutableError) routableRejected++;
    if (b.status === 'fulfilled') unroutableConfirmed++;
  }
  await pusher.close();
  const stored = (await admin.checkQueue(queue)).messageCount;
  // Every routable push is in the queue; none of them may be reported unroutable, and no push the
  // broker dropped may be reported confirmed.
  expect(stored).toBe(rounds);
  expect({ routableRejected, unroutableConfirmed }).toEqual({ routableRejected: 0, unroutableConfirmed: 0 });
});
