import { randomUUID } from 'node:crypto';
import { KafkaQueue } from '@q/kafka';
import { type KafkaTestBroker, startKafkaBroker } from '@q/kafka-testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { clientSockets, portOf } from './support/sockets.js';
import { fastGroup, JOIN_GROUP } from './support/test-constants.js';

const throwing = {
  error() {
    throw new Error('logger down');
  },
  warn() {
    throw new Error('logger down');
  },
  info() {},
  debug() {},
};

let broker: KafkaTestBroker | undefined;
afterEach(async () => {
  await broker?.stop();
  broker = undefined;
});

// Logger promises: "A logger that throws is ignored".
describe('KafkaQueue with a logger that throws', () => {
  it('a stop that gives up on the broker still resolves and closes its connections', async () => {
    broker = await startKafkaBroker();
    const topic = `throwing-logger-${randomUUID()}`;
    broker.cluster.createTopic(topic, 1);
    let joins = 0;
    broker.onRequest((r) => {
      if (r.apiKey === JOIN_GROUP) joins++;
      return undefined;
    });
    broker.blackHole({ apiKey: JOIN_GROUP });
    const queue = new KafkaQueue(
      {
        brokers: broker.bootstrap,
        group: `g-${randomUUID()}`,
        topic,
        ...fastGroup,
        logger: throwing,
      },
      () => {},
    );
    const run = queue.start().catch((error: unknown) => error);
    await until(() => joins > 0, 30_000, 'a JoinGroup');
    // The stop gives up on the join and logs a warning: the logger throws there.
    await expect(queue.stop({ timeoutMs: 300 })).resolves.toBeUndefined();
    expect(await run).toBeUndefined();
    const port = portOf(broker.bootstrap);
    await until(() => clientSockets(port) === 0, 5000, `no client sockets (left ${clientSockets(port)})`);
  }, 60_000);
});
