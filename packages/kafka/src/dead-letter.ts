import { isConfirmingPusher, type Pusher } from '@q/core';
import type { KafkaConnection, KafkaMessage } from './client.js';
import { KafkaPusher } from './kafka-pusher.js';
import type { KafkaQueueConfig } from './kafka-queue-config.js';

/**
 * The dead-letter pusher for `deadLetter: '<topic>'`: a {@link KafkaPusher} on the queue's own
 * connection that waits for all in-sync replicas.
 */
export function deadLetterPusher(config: KafkaQueueConfig, topic: string): Pusher<KafkaMessage> {
  const connection: KafkaConnection = {
    brokers: config.brokers,
    clientId: config.clientId,
    ssl: config.ssl,
    sasl: config.sasl,
    requestTimeoutMs: config.requestTimeoutMs,
  };
  return new KafkaPusher({
    ...connection,
    topic,
    acks: -1,
    // A message counts as dead-lettered (and its offset may be committed) only once the broker
    // has it: otherwise a crash between the two would lose it.
    syncPush: true,
    // ...and without waiting for the default 100 ms flush: dead-lettering runs one message at a
    // time while its key (its partition, by default) waits.
    flushIntervalMs: 1,
    client: config.client,
    logger: config.logger,
  }) as unknown as Pusher<KafkaMessage>;
}

/**
 * What a member's Queue gets as its dead letter: the shared pusher behind a wrapper that forwards
 * `name`, `push` and, when the pusher can confirm, `pushAndConfirm` — the Queue settles a message as
 * dead-lettered (and the member commits past it) only once that resolved. Nothing else is forwarded:
 * the pusher is shared by every member and closed once, by the KafkaQueue.
 */
export function queueDeadLetter<T extends KafkaMessage>(
  pusher: Pusher<KafkaMessage> | undefined,
): Pusher<T> | undefined {
  if (pusher === undefined) return undefined;
  const wrapper: Pusher<T> = { name: () => pusher.name(), push: (m, info) => pusher.push(m, info) };
  if (isConfirmingPusher(pusher)) wrapper.pushAndConfirm = (m, info) => pusher.pushAndConfirm(m, info);
  return wrapper;
}
