import { randomUUID } from 'node:crypto';
import { type Logger, silentLogger } from '@q/core';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { outcomeWithin } from '../../../test-support/wait.js';
import { AmqpConnection, AmqpPusher, type ClientChannel } from '../src/index.js';

const url = inject('amqpUrl');
let admin: AmqpConnection;
let channel: ClientChannel;
const queue = `review-close-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  admin = new AmqpConnection({ url, logger: silentLogger });
  channel = await (await admin.ready()).createChannel();
  await channel.assertQueue(queue, { durable: true });
});

afterAll(async () => {
  await channel.deleteQueue(queue);
  await admin.close();
});

/** A logger that counts warnings. */
function counting(): Logger & { warnings: number } {
  const logger = {
    warnings: 0,
    debug() {},
    info() {},
    warn() {
      logger.warnings++;
    },
    error() {},
  };
  return logger as unknown as Logger & { warnings: number };
}

// A pusher on a shared connection that its owner closed: nothing can ever be published, yet each
// push waits its whole confirmTimeoutMs, retrying to open a channel every 50 ms with a warning each.
it('DEFECT closed-connection-spin: a push through a closed shared connection rejects promptly, without a retry storm', async () => {
  const connection = new AmqpConnection({ url, logger: silentLogger });
  const logger = counting();
  const pusher = new AmqpPusher({ connection, exchange: '', routingKey: queue, confirmTimeoutMs: 5_000, logger });
  await pusher.pushAndConfirm('first');
  await connection.close();
  const push = pusher.pushAndConfirm('after the connection closed');
  const outcome = await outcomeWithin(push, 1_000);
  console.log('outcome after 1 s:', outcome, 'warnings:', logger.warnings);
  const warnings = logger.warnings;
  await pusher.close({ timeoutMs: 100 });
  await push.catch(() => {});
  expect(outcome.slice(0, 8)).toBe('rejected');
  expect(warnings).toBeLessThan(3);
});
