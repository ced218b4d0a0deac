import amqp from 'amqplib';
import { describe, expect, inject, it } from 'vitest';

describe('the suite RabbitMQ', () => {
  it('takes a persistent confirmed publish on a durable queue and gives it back', async () => {
    const connection = await amqp.connect(inject('amqpUrl'));
    try {
      const channel = await connection.createConfirmChannel();
      const queue = `harness-${process.pid}-${Date.now()}`;
      await channel.assertQueue(queue, { durable: true });
      channel.sendToQueue(queue, Buffer.from('one'), { persistent: true });
      await channel.waitForConfirms();
      const got = await channel.get(queue, { noAck: false });
      expect(got ? got.content.toString() : undefined).toBe('one');
      if (got) channel.ack(got);
      await channel.deleteQueue(queue);
    } finally {
      await connection.close();
    }
  });
});
