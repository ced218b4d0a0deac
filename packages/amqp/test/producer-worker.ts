/**
 * A consumer process for the SIGKILL test: a Queue over amqpProducerFactory on the queue in argv,
 * telling the parent each body it handled and waiting for the IPC write before returning, so every
 * acked message was reported (the parent's count is a superset of what the broker forgot).
 * argv: url, queue, prefetch.
 */
import { type AmqpDelivery, amqpProducerFactory } from '@q/amqp';
import { Queue, silentLogger } from '@q/core';

const [url, queue, prefetch] = process.argv.slice(2) as [string, string, string];
const send = (message: unknown): Promise<void> =>
  new Promise((resolve, reject) =>
    process.send?.(message, (error: Error | null) => (error ? reject(error) : resolve())),
  );

await send('ready');
const q = new Queue<AmqpDelivery>(
  amqpProducerFactory({ url, queue, prefetch: Number(prefetch), logger: silentLogger }),
  () => ({
    async consume(m) {
      // A little work per message, so a kill lands mid-run rather than after a burst.
      await new Promise((r) => setTimeout(r, 1));
      await send(m.body.toString());
    },
  }),
  { producers: 1, consumers: 4, capacity: 64, statsIntervalMs: 0, logger: silentLogger },
);
const done = q.start();
process.on('SIGTERM', () => {
  void q
    .stop({ timeoutMs: 5000 })
    .then(() => done)
    .finally(() => process.exit(0));
});
