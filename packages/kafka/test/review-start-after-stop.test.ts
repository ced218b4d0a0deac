import { randomUUID } from 'node:crypto';
import { KafkaQueue } from '@q/kafka';
import { type KafkaTestBroker, startKafkaBroker } from '@q/kafka-testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { delay } from '../../../test-support/wait.js';
import { clientSockets, portOf } from './support/sockets.js';
import { fastGroup, JOIN_GROUP, silent } from './support/test-constants.js';

let broker: KafkaTestBroker | undefined;
afterEach(async () => {
  await broker?.stop();
  broker = undefined;
});

describe('KafkaQueue started after stop()', () => {
  it('start() resolves without joining the group or leaving a connection behind', async () => {
    broker = await startKafkaBroker();
    const topic = `after-stop-${randomUUID()}`;
    broker.cluster.createTopic(topic, 1);
    let joins = 0;
    broker.onRequest((r) => {
      if (r.apiKey === JOIN_GROUP) joins++;
      return undefined;
    });
    const queue = new KafkaQueue(
      {
        brokers: broker.bootstrap,
        group: `g-${randomUUID()}`,
        topic,
        ...fastGroup,
        logger: silent,
      },
      () => {},
    );
    await queue.stop();
    await queue.start();
    // Time for a join the queue should not make.
    await delay(500);
    expect(joins).toBe(0);
    expect(clientSockets(portOf(broker.bootstrap))).toBe(0);
    expect(queue.stats().map((s) => s.state)).toEqual(['stopped']);
  }, 30_000);
});
