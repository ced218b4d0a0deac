/**
 * RabbitMQ end to end: declare a quorum queue with a delivery limit and a dead-letter exchange,
 * publish 10,000 orders with confirms, consume them with manual acks; orders whose handler always
 * fails end in the dead-letter queue after the limit, with RabbitMQ's x-death record. A publish
 * nothing routes is refused with UnroutableError. Needs AMQP_URL (e.g. amqp://guest:guest@127.0.0.1:5672).
 */
import { AmqpConnection, AmqpPusher, amqpProducerFactory, Topology } from '@q/amqp';
import { Queue, silentLogger, UnroutableError } from '@q/core';

const url = process.env.AMQP_URL;
if (url === undefined || url === '') {
  console.error('set AMQP_URL, e.g. AMQP_URL=amqp://guest:guest@127.0.0.1:5672');
  process.exit(2);
}
const total = 10_000;
const name = `orders-${process.pid}`;
const connection = new AmqpConnection({ url, logger: silentLogger });
const topology = new Topology({
  exchanges: [{ name: `${name}.dlx`, type: 'fanout' }],
  queues: [{ name, type: 'quorum', deliveryLimit: 2, deadLetterExchange: `${name}.dlx` }, { name: `${name}.dead` }],
  bindings: [{ queue: `${name}.dead`, exchange: `${name}.dlx` }],
});
connection.onConnect(topology.setup); // declared again after every reconnect

const pusher = new AmqpPusher({ connection, exchange: '', routingKey: name, logger: silentLogger });
await Promise.all(Array.from({ length: total }, (_, i) => pusher.pushAndConfirm(`order-${i}`)));
const nowhere = new AmqpPusher({ connection, exchange: '', routingKey: `${name}.nowhere`, logger: silentLogger });
const refused = await nowhere.pushAndConfirm('lost?').then(
  () => 'confirmed',
  (error: unknown) => (error instanceof UnroutableError ? 'UnroutableError' : String(error)),
);
await Promise.all([pusher.close(), nowhere.close()]);

// Every 1,000th order is poison: its handler always fails, RabbitMQ counts deliveries.
const poison = (body: string): boolean => Number(body.slice(6)) % 1000 === 0;
const handled = new Set<string>();
let done!: () => void;
const finished = new Promise<void>((resolve) => {
  done = resolve;
});
const queue = new Queue(
  amqpProducerFactory({ connection, queue: name, prefetch: 256, onFailure: 'requeue', logger: silentLogger }),
  () => ({
    async consume(delivery) {
      const body = delivery.body.toString();
      if (poison(body)) throw new Error(`cannot ship ${body}`);
      handled.add(body);
      if (handled.size === total - total / 1000) done();
    },
  }),
  { consumers: 8, logger: silentLogger },
);
const running = queue.start();
await finished;

const channel = await (await connection.ready()).createChannel();
let dead = 0;
let reason = '';
for (let i = 0; i < 200 && dead < total / 1000; i++) {
  const message = await channel.get(`${name}.dead`, { noAck: true });
  if (message === false) {
    await new Promise((r) => setTimeout(r, 50));
    continue;
  }
  dead++;
  const deaths = message.properties.headers?.['x-death'] as { reason: string }[] | undefined;
  reason = deaths?.[0]?.reason ?? '';
}
await queue.stop();
await running;
await channel.deleteQueue(name);
await channel.deleteQueue(`${name}.dead`);
await channel.deleteExchange(`${name}.dlx`);
await connection.close();

console.log(`amqp example: ${total} orders published with confirms; a publish to no queue: ${refused}`);
console.log(`${handled.size} handled, ${dead} dead-lettered after the delivery limit (x-death reason ${reason})`);
const ok = handled.size === total - total / 1000 && dead === total / 1000 && refused === 'UnroutableError';
console.log(ok ? 'amqp check: OK' : 'amqp check: FAILED');
process.exit(ok ? 0 : 1);
