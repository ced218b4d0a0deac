import { AmqpPusher } from '@q/amqp';
import { readDeaths, silentLogger } from '@q/core';
import amqp from 'amqplib';
import { describe, expect, inject, it } from 'vitest';

describe('AmqpPusher as a dead-letter pusher', () => {
  it('writes the q-death reason it is given (PushInfo.reason), rejected when none, and counts per reason', async () => {
    const url = inject('amqpUrl');
    const connection = await amqp.connect(url);
    const channel = await connection.createChannel();
    const queue = `death-reason-${process.pid}-${Date.now()}`;
    await channel.assertQueue(queue, { durable: true });
    const pusher = new AmqpPusher({ url, exchange: '', routingKey: queue, source: 'orders', logger: silentLogger });
    try {
      await pusher.pushAndConfirm('a', { reason: 'expired' });
      await pusher.pushAndConfirm('b', { cause: new Error('boom'), attempts: 3 });
      const first = await channel.get(queue, { noAck: true });
      const second = await channel.get(queue, { noAck: true });
      if (first === false || second === false) throw new Error('dead letters missing');
      expect(readDeaths(first.properties.headers?.['q-death'])).toMatchObject([
        { reason: 'expired', queue: 'orders', count: 1 },
      ]);
      expect(readDeaths(second.properties.headers?.['q-death'])).toMatchObject([
        { reason: 'rejected', queue: 'orders', count: 1, cause: 'boom' },
      ]);
      // The same message dead-lettered again for the same reason counts 2, as x-death does.
      await pusher.pushAndConfirm({ body: 'b', headers: second.properties.headers }, { cause: new Error('again') });
      const third = await channel.get(queue, { noAck: true });
      if (third === false) throw new Error('third dead letter missing');
      expect(readDeaths(third.properties.headers?.['q-death'])).toMatchObject([
        { reason: 'rejected', queue: 'orders', count: 2, cause: 'again' },
      ]);
    } finally {
      await pusher.close({ timeoutMs: 5_000 });
      await channel.deleteQueue(queue);
      await connection.close();
    }
  });
});
