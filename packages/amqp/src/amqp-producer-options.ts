import {
  consoleLogger,
  InvalidOptionError,
  type Logger,
  type Pusher,
  type RetryOptions,
  type RetryPolicy,
  retryPolicy,
} from '@q/core';
import { duration, integerAtLeast, nonEmptyString, safeLogger } from '@q/core/internal';
import type { AmqpDelivery } from './amqp-delivery.js';
import type { ClientChannel } from './client.js';
import { AmqpConnection, type AmqpConnectionOptions } from './connection.js';
import { connectionSettings } from './connection-settings.js';
import { Topology } from './topology.js';

/**
 * What a `failed` outcome (every attempt of the Queue's retry policy failed, and no dead-letter
 * pusher of the Queue took the message) does with the message:
 * - `reject`: `basic.nack` without requeue. RabbitMQ dead-letters it through the queue's
 *   `x-dead-letter-exchange` with an `x-death` entry of reason `rejected`, or drops it when the
 *   queue has none.
 * - `requeue`: `basic.nack` with requeue: back into the queue, delivered again at once. Quorum
 *   queues count it in `x-delivery-count` and dead-letter it past their `x-delivery-limit`; a
 *   classic queue only sets `redelivered`, so without a `deliveryLimit` it loops for good.
 * - `republish`: a copy with `q-delivery-count` raised is published (confirmed) to the queue's
 *   tail through the default exchange, then the original is acked; what classic queues need for
 *   an exact count and a working `deliveryLimit`. The copy is a new message: it goes behind the
 *   others, and a consumer dying between the confirm and the ack leaves both (a duplicate).
 */
export type FailureAction = 'reject' | 'requeue' | 'republish';

/** Options of {@link amqpProducerFactory}. Exactly one of `url` and `connection` is required. */
export interface AmqpProducerOptions {
  /**
   * The broker: the producer opens its own {@link AmqpConnection} (closed with the producer).
   * @default none
   */
  url?: string;
  /**
   * A connection to share (with pushers, other queues): the producer opens its channels on it and
   * leaves it open when it closes.
   * @default none
   */
  connection?: AmqpConnection;
  /** With `url`: the options of the connection it opens (heartbeat, reconnect back-off, ...). */
  connectionOptions?: Omit<AmqpConnectionOptions, 'url' | 'logger'>;
  /** The queue to consume. */
  queue: string;
  /**
   * Declares what the consumer needs (the queue, its dead-letter exchange, bindings) on the
   * consumer's channel before each `basic.consume`: after every (re)connect and channel reopen. A
   * {@link Topology}, or a function of the channel. A declare that fails is logged and retried
   * with `reopenBackoff` (the connection stays up: pushers may share it).
   * @default none (the queue must exist)
   */
  declare?: Topology | ((channel: ClientChannel) => Promise<unknown>);
  /**
   * Most deliveries unacked at once on the consumer channel (`basic.qos`, per consumer), which is
   * what the process holds: those buffered here, waiting in the Queue's channel, and in handlers.
   * The Queue's options are out of the factory's sight, so set it to about the Queue's `capacity`
   * plus its `consumers`: lower starves handlers, higher only holds more messages a crash
   * redelivers (duplicates after a crash are bounded by it). RabbitMQ finds 100-300 fastest.
   * @default 256
   */
  prefetch?: number;
  /**
   * What a `failed` outcome does (see {@link FailureAction}). `dead-lettered` (the Queue's
   * dead-letter pusher took it) and `consumed` are acked; `nacked` (the Queue stopped) is requeued.
   * @default "reject"
   */
  onFailure?: FailureAction;
  /**
   * A delivery whose count ({@link AmqpDelivery.deliveries}) is above this is not handed to a
   * handler: it is dead-lettered with reason `delivery-limit` (see `deadLetter`). For classic
   * queues; quorum queues have their own `x-delivery-limit`.
   * @default none
   */
  deliveryLimit?: number;
  /**
   * Whether a message whose `q-expires-at` header (set by `@q` pushers with a `ttlMs`, and kept
   * when a message crosses adapters) has passed is dead-lettered with reason `expired` instead of
   * handled. RabbitMQ's own TTL (`x-message-ttl`, `expiration`) is the broker's and needs nothing.
   * @default true
   */
  checkExpiry?: boolean;
  /**
   * Where messages this producer dead-letters itself (past `deliveryLimit`, expired) go: a copy
   * with one more `q-death` record (reason, this queue) and no expiry left is pushed (confirmed
   * when the pusher can), then the delivery is acked. Without it they are rejected (`basic.nack`,
   * no requeue): RabbitMQ dead-letters them through the queue's DLX, recording reason `rejected`
   * (it cannot know ours).
   * @default none
   */
  deadLetter?: Pusher<AmqpDelivery>;
  /**
   * Back-off between tries to open the consumer channel again after it closed while the
   * connection stayed up (a declare or consume that failed, a channel error, a cancelled
   * consumer), and between dead-letter pushes that failed.
   * @default { minDelayMs: 100, maxDelayMs: 5000 }
   */
  reopenBackoff?: RetryOptions;
  /**
   * How long `close()` waits for the broker in all (cancelling the consumer, dead-letter pushes and
   * republishes under way, closing the channels and an owned connection) before it drops what is
   * left, in milliseconds.
   * @default 5000
   */
  closeTimeoutMs?: number;
  /**
   * Where channel losses, failed declares and dead-letter failures are reported. Bodies are never logged.
   * @default consoleLogger
   */
  logger?: Logger;
}

/** {@link AmqpProducerOptions} checked, with defaults applied. */
export interface ResolvedProducerOptions {
  readonly url: string | undefined;
  readonly connection: AmqpConnection | undefined;
  readonly connectionOptions: Omit<AmqpConnectionOptions, 'url' | 'logger'>;
  readonly queue: string;
  readonly declare: ((channel: ClientChannel) => Promise<unknown>) | undefined;
  readonly prefetch: number;
  readonly onFailure: FailureAction;
  readonly deliveryLimit: number | undefined;
  readonly checkExpiry: boolean;
  readonly deadLetter: Pusher<AmqpDelivery> | undefined;
  readonly reopenBackoff: RetryPolicy;
  readonly closeTimeoutMs: number;
  readonly logger: Logger;
}

/** The largest prefetch RabbitMQ's `basic.qos` takes (a short). */
const MAX_PREFETCH = 65_535;
const FAILURE_ACTIONS: readonly FailureAction[] = ['reject', 'requeue', 'republish'];

/**
 * Checks `options` and applies the defaults.
 * @throws {InvalidOptionError} naming the first bad option.
 */
export function resolveProducerOptions(options: AmqpProducerOptions): ResolvedProducerOptions {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', options, 'an object');
  const { url, connection } = options;
  if ((url === undefined) === (connection === undefined)) {
    throw new InvalidOptionError('url', url, 'exactly one of url and connection');
  }
  const connectionOptions = options.connectionOptions ?? {};
  if (connectionOptions === null || typeof connectionOptions !== 'object') {
    throw new InvalidOptionError('connectionOptions', connectionOptions, 'an object of AmqpConnectionOptions');
  }
  // The checks AmqpConnection makes, now rather than when the Queue first opens a producer.
  if (url !== undefined) connectionSettings({ ...connectionOptions, url });
  if (connection !== undefined && !(connection instanceof AmqpConnection)) {
    throw new InvalidOptionError('connection', connection, 'an AmqpConnection');
  }
  const onFailure = options.onFailure ?? 'reject';
  if (!FAILURE_ACTIONS.includes(onFailure)) {
    throw new InvalidOptionError('onFailure', onFailure, '"reject", "requeue" or "republish"');
  }
  const declare = options.declare;
  if (declare !== undefined && typeof declare !== 'function' && !(declare instanceof Topology)) {
    throw new InvalidOptionError('declare', declare, 'a Topology or a function (channel) => Promise');
  }
  const deadLetter = options.deadLetter;
  if (deadLetter !== undefined && (deadLetter === null || typeof deadLetter.push !== 'function')) {
    throw new InvalidOptionError('deadLetter', deadLetter, 'a Pusher');
  }
  if (options.checkExpiry !== undefined && typeof options.checkExpiry !== 'boolean') {
    throw new InvalidOptionError('checkExpiry', options.checkExpiry, 'a boolean');
  }
  return {
    url,
    connection,
    connectionOptions,
    queue: nonEmptyString('queue', options.queue),
    declare: declare instanceof Topology ? (channel) => declare.declare(channel) : declare,
    prefetch: integerAtLeast('prefetch', options.prefetch ?? 256, 1, MAX_PREFETCH),
    onFailure,
    deliveryLimit:
      options.deliveryLimit === undefined ? undefined : integerAtLeast('deliveryLimit', options.deliveryLimit, 1),
    checkExpiry: options.checkExpiry ?? true,
    deadLetter,
    reopenBackoff: retryPolicy(options.reopenBackoff, 'reopenBackoff', { minDelayMs: 100, maxDelayMs: 5000 }),
    closeTimeoutMs: duration('closeTimeoutMs', options.closeTimeoutMs ?? 5000),
    logger: safeLogger(options.logger ?? consoleLogger),
  };
}
