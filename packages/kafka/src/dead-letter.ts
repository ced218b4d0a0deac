import {
  addDeath,
  causeText,
  DEATH_HEADER,
  type DeathReason,
  EXPIRES_AT_HEADER,
  isConfirmingPusher,
  type Pusher,
  readDeaths,
  writeDeaths,
} from '@q/core';
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
    retries: config.retries,
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
 * the pusher is shared by every member and closed once, by the KafkaQueue. Each message goes out as
 * {@link withDeath} makes it: a copy carrying its `q-death` record.
 */
export function queueDeadLetter<T extends KafkaMessage>(
  pusher: Pusher<KafkaMessage> | undefined,
  onExpiredPushed: () => void = () => {},
): Pusher<T> | undefined {
  if (pusher === undefined) return undefined;
  // An expired record whose own dead-letter push ran out of attempts is dead-lettered here: it
  // counts in `expired().deadLettered` too, once its push went through.
  const counted = (m: KafkaMessage, pushed: void | Promise<void>): void | Promise<void> => {
    if (reasonOf(m) !== 'expired') return pushed;
    if (pushed === undefined) {
      onExpiredPushed();
      return;
    }
    return pushed.then(onExpiredPushed);
  };
  const wrapper: Pusher<T> = {
    name: () => pusher.name(),
    push: (m, info) => counted(m, pusher.push(withDeath(m, reasonOf(m), info?.cause), info)),
  };
  if (isConfirmingPusher(pusher))
    wrapper.pushAndConfirm = (m, info) =>
      counted(m, pusher.pushAndConfirm(withDeath(m, reasonOf(m), info?.cause), info)) as Promise<void>;
  return wrapper;
}

/**
 * Why the Queue dead-letters a message: its handler failed every attempt (`rejected`), or it was
 * expired at receive and its own dead-letter push failed every attempt (`expired`). The attempts
 * are retries within this process, not redeliveries by the broker, so `delivery-limit` is never it.
 */
function reasonOf(m: KafkaMessage): DeathReason {
  return (m as { expired?: unknown }).expired === true ? 'expired' : 'rejected';
}

/**
 * `m` as a dead letter: its headers with a `q-death` record added (RabbitMQ's `x-death` facts:
 * reason, this topic as the queue, count, time, the failure's message), and without its
 * `q-expires-at` (RabbitMQ too drops a dead letter's expiration, or the dead-letter queue would
 * expire it again at once). The rest of the record is copied as is.
 */
export function withDeath(m: KafkaMessage, reason: DeathReason, cause?: unknown): KafkaMessage {
  const headers: Record<string, Buffer | string | undefined> = {};
  for (const [name, value] of Object.entries(m.headers)) if (name !== EXPIRES_AT_HEADER) headers[name] = value;
  const deaths = addDeath(readDeaths(m.headers[DEATH_HEADER]), {
    reason,
    queue: m.topic,
    ...(cause === undefined ? {} : { cause: causeText(cause) }),
  });
  headers[DEATH_HEADER] = writeDeaths(deaths);
  return {
    topic: m.topic,
    partition: m.partition,
    offset: m.offset,
    key: m.key,
    value: m.value,
    headers,
    timestamp: m.timestamp,
  };
}
