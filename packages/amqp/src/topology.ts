import { InvalidOptionError, UnsupportedFeatureError } from '@q/core';
import { integerAtLeast, nonEmptyString } from '@q/core/internal';
import type {
  ClientChannel,
  ClientConnection,
  ClientExchangeOptions,
  ClientQueueInfo,
  ClientQueueOptions,
} from './client.js';

/** `classic` (one node's queue) or `quorum` (replicated by Raft: the supported "mirror" queue). */
export type QueueType = 'classic' | 'quorum';

/** What a queue at its maximum length does with one more message. */
export type Overflow = 'drop-head' | 'reject-publish' | 'reject-publish-dlx';

/** The exchange types RabbitMQ ships. */
export type ExchangeType = 'direct' | 'topic' | 'fanout' | 'headers';

/** A queue and its `x-` arguments, in words. */
export interface QueueSpec {
  /** The queue's name (at most 255 bytes). */
  readonly name: string;
  /**
   * Survives a broker restart (its persistent messages too). Quorum queues are always durable.
   * @default true
   */
  readonly durable?: boolean;
  /**
   * `x-queue-type`. A quorum queue on 3.10 has no delivery limit unless `deliveryLimit` is set
   * (4.x defaults to 20), and its `reject-publish` lets one message past the limit.
   * @default 'classic'
   */
  readonly type?: QueueType;
  /**
   * Only this connection may use it, and it goes with the connection (classic queues only).
   * @default false
   */
  readonly exclusive?: boolean;
  /**
   * Deleted when its last consumer cancels (classic queues only).
   * @default false
   */
  readonly autoDelete?: boolean;
  /**
   * `x-message-ttl`: a message older than this is dead-lettered (reason `expired`) or dropped when
   * it reaches the head of the queue, in milliseconds.
   * @default none
   */
  readonly messageTtlMs?: number;
  /**
   * `x-expires`: the queue is deleted, messages and all (none dead-lettered), after this long
   * unused (no consumer, no declare, no get), in milliseconds.
   * @default none
   */
  readonly expiresMs?: number;
  /**
   * `x-max-length`: ready messages at most (unacked ones do not count).
   * @default none
   */
  readonly maxLength?: number;
  /**
   * `x-max-length-bytes`: bytes of ready message bodies at most.
   * @default none
   */
  readonly maxLengthBytes?: number;
  /**
   * `x-overflow`: `drop-head` drops (or dead-letters, reason `maxlen`) the oldest; `reject-publish`
   * refuses the newest (a `basic.nack`: the pusher's `PublishRejectedError`); `reject-publish-dlx`
   * also dead-letters it (classic queues only: RabbitMQ 3.10 accepts it on a quorum queue and
   * silently drops the head instead, so it is refused there).
   * @default 'drop-head' (the broker's)
   */
  readonly overflow?: Overflow;
  /**
   * `x-dead-letter-exchange`: where rejected, expired and dropped messages go. If it does not exist
   * when a message is dead-lettered, the message is silently dropped.
   * @default none
   */
  readonly deadLetterExchange?: string;
  /**
   * `x-dead-letter-routing-key`: replaces the message's routing key when dead-lettered.
   * @default the message's own
   */
  readonly deadLetterRoutingKey?: string;
  /**
   * `x-delivery-limit` (quorum queues only): deliveries of a message beyond this are dead-lettered
   * with reason `delivery_limit`. Cannot be changed by a redeclare (use a policy for that).
   * @default none (RabbitMQ 3.10: no limit; 4.x: 20)
   */
  readonly deliveryLimit?: number;
  /**
   * More `x-` arguments, passed as they are; one of the arguments above is refused here.
   * @default none
   */
  readonly arguments?: Readonly<Record<string, unknown>>;
}

/** An exchange. */
export interface ExchangeSpec {
  /** The exchange's name (not `''` nor `amq.*`: those exist already). */
  readonly name: string;
  /** The exchange's type. */
  readonly type: ExchangeType;
  /**
   * Survives a broker restart.
   * @default true
   */
  readonly durable?: boolean;
  /**
   * Deleted when its last binding goes.
   * @default false
   */
  readonly autoDelete?: boolean;
  /**
   * Only other exchanges publish to it.
   * @default false
   */
  readonly internal?: boolean;
  /**
   * Where messages that match no binding go instead of being returned to a mandatory publisher.
   * @default none
   */
  readonly alternateExchange?: string;
}

/** A binding of a queue to an exchange. */
export interface BindingSpec {
  /** The queue. */
  readonly queue: string;
  /** The exchange. */
  readonly exchange: string;
  /**
   * The binding key (a pattern for topic exchanges, ignored by fanout).
   * @default ''
   */
  readonly routingKey?: string;
  /**
   * Binding arguments (headers exchanges match on them).
   * @default none
   */
  readonly arguments?: Readonly<Record<string, unknown>>;
}

/** The `x-` argument each named option sets. */
const NAMED_ARGUMENTS = {
  'x-queue-type': 'type',
  'x-message-ttl': 'messageTtlMs',
  'x-expires': 'expiresMs',
  'x-max-length': 'maxLength',
  'x-max-length-bytes': 'maxLengthBytes',
  'x-overflow': 'overflow',
  'x-dead-letter-exchange': 'deadLetterExchange',
  'x-dead-letter-routing-key': 'deadLetterRoutingKey',
  'x-delivery-limit': 'deliveryLimit',
} as const;

const OVERFLOWS: readonly Overflow[] = ['drop-head', 'reject-publish', 'reject-publish-dlx'];
const EXCHANGE_TYPES: readonly ExchangeType[] = ['direct', 'topic', 'fanout', 'headers'];
/** AMQP's long-uint, the type of RabbitMQ's numeric queue arguments. */
const MAX_ARGUMENT = 2 ** 32 - 1;

/**
 * The declare options (`durable`, ..., `arguments`) for `spec`, after validating it: throws
 * `InvalidOptionError` naming the option, and `UnsupportedFeatureError` for a combination RabbitMQ
 * 3.10 accepts but does not honour (`reject-publish-dlx` on a quorum queue, `deliveryLimit` on a
 * classic queue).
 */
export function queueOptions(spec: QueueSpec, prefix = 'queue'): ClientQueueOptions {
  if (spec === null || typeof spec !== 'object') throw new InvalidOptionError(prefix, spec, 'an object');
  name(`${prefix}.name`, spec.name);
  const type = spec.type ?? 'classic';
  if (type !== 'classic' && type !== 'quorum')
    throw new InvalidOptionError(`${prefix}.type`, type, "'classic' or 'quorum'");
  const durable = flag(`${prefix}.durable`, spec.durable, true);
  const exclusive = flag(`${prefix}.exclusive`, spec.exclusive, false);
  const autoDelete = flag(`${prefix}.autoDelete`, spec.autoDelete, false);
  if (type === 'quorum') {
    if (!durable) throw new InvalidOptionError(`${prefix}.durable`, false, 'true for a quorum queue (always durable)');
    if (exclusive) throw new InvalidOptionError(`${prefix}.exclusive`, true, 'false for a quorum queue');
    if (autoDelete) throw new InvalidOptionError(`${prefix}.autoDelete`, true, 'false for a quorum queue');
  }
  const args: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(spec.arguments ?? {})) {
    const named = (NAMED_ARGUMENTS as Record<string, string>)[key];
    if (named !== undefined) {
      throw new InvalidOptionError(`${prefix}.arguments.${key}`, value, `no value here: use the "${named}" option`);
    }
    args[key] = value;
  }
  if (type === 'quorum') args['x-queue-type'] = 'quorum';
  const count = (option: keyof QueueSpec, min: number): number | undefined => {
    const value = spec[option];
    return value === undefined ? undefined : integerAtLeast(`${prefix}.${option}`, value, min, MAX_ARGUMENT);
  };
  setArgument(args, 'x-message-ttl', count('messageTtlMs', 0));
  setArgument(args, 'x-expires', count('expiresMs', 1));
  setArgument(args, 'x-max-length', count('maxLength', 0));
  setArgument(args, 'x-max-length-bytes', count('maxLengthBytes', 0));
  const overflow = spec.overflow;
  if (overflow !== undefined) {
    if (!OVERFLOWS.includes(overflow)) {
      throw new InvalidOptionError(`${prefix}.overflow`, overflow, OVERFLOWS.map((o) => `'${o}'`).join(', '));
    }
    if (overflow === 'reject-publish-dlx' && type === 'quorum') {
      throw new UnsupportedFeatureError(
        'amqp',
        'overflow: reject-publish-dlx on a quorum queue',
        'RabbitMQ 3.10 accepts it but drops the oldest message instead; use reject-publish, or a classic queue',
      );
    }
    if (overflow === 'reject-publish-dlx' && spec.deadLetterExchange === undefined) {
      throw new InvalidOptionError(
        `${prefix}.deadLetterExchange`,
        undefined,
        'an exchange when overflow is reject-publish-dlx',
      );
    }
    args['x-overflow'] = overflow;
  }
  if (spec.deadLetterExchange !== undefined) {
    if (typeof spec.deadLetterExchange !== 'string') {
      throw new InvalidOptionError(
        `${prefix}.deadLetterExchange`,
        spec.deadLetterExchange,
        "an exchange's name ('' for the default exchange)",
      );
    }
    args['x-dead-letter-exchange'] = spec.deadLetterExchange;
  }
  if (spec.deadLetterRoutingKey !== undefined) {
    if (spec.deadLetterExchange === undefined) {
      throw new InvalidOptionError(
        `${prefix}.deadLetterRoutingKey`,
        spec.deadLetterRoutingKey,
        'none without deadLetterExchange',
      );
    }
    if (typeof spec.deadLetterRoutingKey !== 'string') {
      throw new InvalidOptionError(`${prefix}.deadLetterRoutingKey`, spec.deadLetterRoutingKey, 'a string');
    }
    args['x-dead-letter-routing-key'] = spec.deadLetterRoutingKey;
  }
  if (spec.deliveryLimit !== undefined && type !== 'quorum') {
    throw new UnsupportedFeatureError(
      'amqp',
      'deliveryLimit on a classic queue',
      'RabbitMQ counts deliveries only on quorum queues (type: "quorum")',
    );
  }
  setArgument(args, 'x-delivery-limit', count('deliveryLimit', 0));
  return { durable, exclusive, autoDelete, arguments: args };
}

/** Declares the queue `spec` describes (validated first); resolves with the broker's counts. */
export function declareQueue(channel: ClientChannel, spec: QueueSpec): Promise<ClientQueueInfo> {
  return channel.assertQueue(spec.name, queueOptions(spec));
}

/** Declares the exchange `spec` describes (validated first). */
export async function declareExchange(channel: ClientChannel, spec: ExchangeSpec): Promise<void> {
  const options = exchangeOptions(spec);
  await channel.assertExchange(spec.name, spec.type, options);
}

/** Binds a queue to an exchange (validated first). */
export async function bindQueue(channel: ClientChannel, spec: BindingSpec): Promise<void> {
  bindingOf(spec);
  await channel.bindQueue(spec.queue, spec.exchange, spec.routingKey ?? '', { ...spec.arguments });
}

/** What a {@link Topology} declares. */
export interface TopologySpec {
  /**
   * Exchanges, declared first.
   * @default []
   */
  readonly exchanges?: readonly ExchangeSpec[];
  /**
   * Queues, declared second.
   * @default []
   */
  readonly queues?: readonly QueueSpec[];
  /**
   * Bindings, declared last.
   * @default []
   */
  readonly bindings?: readonly BindingSpec[];
}

/**
 * Exchanges, queues and bindings, validated once, declared again after every (re)connect: a broker
 * restarted without its data, or a queue deleted by `x-expires`, gets them back.
 *
 * ```ts
 * const topology = new Topology({ queues: [{ name: 'jobs', type: 'quorum', deliveryLimit: 5 }] });
 * connection.onConnect(topology.setup);
 * ```
 */
export class Topology {
  /** The exchanges, in declaration order. */
  readonly exchanges: readonly ExchangeSpec[];
  /** The queues, in declaration order. */
  readonly queues: readonly QueueSpec[];
  /** The bindings, in declaration order. */
  readonly bindings: readonly BindingSpec[];

  /** Validates every part (throwing as {@link queueOptions} does). */
  constructor(spec: TopologySpec) {
    if (spec === null || typeof spec !== 'object') throw new InvalidOptionError('topology', spec, 'an object');
    this.exchanges = Object.freeze([...(spec.exchanges ?? [])]);
    this.queues = Object.freeze([...(spec.queues ?? [])]);
    this.bindings = Object.freeze([...(spec.bindings ?? [])]);
    for (const [i, e] of this.exchanges.entries()) exchangeOptions(e, `exchanges[${i}]`);
    for (const [i, q] of this.queues.entries()) queueOptions(q, `queues[${i}]`);
    for (const [i, b] of this.bindings.entries()) bindingOf(b, `bindings[${i}]`);
  }

  /** Declares everything on `channel`: exchanges, then queues, then bindings. */
  async declare(channel: ClientChannel): Promise<void> {
    for (const exchange of this.exchanges) await declareExchange(channel, exchange);
    for (const queue of this.queues) await declareQueue(channel, queue);
    for (const binding of this.bindings) await bindQueue(channel, binding);
  }

  /**
   * Declares everything on a channel of its own, closed after: pass it to
   * `AmqpConnection.onConnect`. A declare that disagrees with what the broker has (another
   * `x-` argument) fails, and so does the setup (the connection retries with back-off, reporting it).
   */
  readonly setup = async (connection: ClientConnection): Promise<void> => {
    const channel = await connection.createChannel();
    try {
      await this.declare(channel);
    } finally {
      await channel.close().catch(() => {});
    }
  };
}

function exchangeOptions(spec: ExchangeSpec, prefix = 'exchange'): ClientExchangeOptions {
  if (spec === null || typeof spec !== 'object') throw new InvalidOptionError(prefix, spec, 'an object');
  name(`${prefix}.name`, spec.name);
  if (spec.name.startsWith('amq.')) {
    throw new InvalidOptionError(`${prefix}.name`, spec.name, 'a name not starting with "amq." (reserved)');
  }
  if (!EXCHANGE_TYPES.includes(spec.type)) {
    throw new InvalidOptionError(`${prefix}.type`, spec.type, EXCHANGE_TYPES.map((t) => `'${t}'`).join(', '));
  }
  const args: Record<string, unknown> = {};
  if (spec.alternateExchange !== undefined) {
    args['alternate-exchange'] = nonEmptyString(`${prefix}.alternateExchange`, spec.alternateExchange);
  }
  return {
    durable: flag(`${prefix}.durable`, spec.durable, true),
    autoDelete: flag(`${prefix}.autoDelete`, spec.autoDelete, false),
    internal: flag(`${prefix}.internal`, spec.internal, false),
    arguments: args,
  };
}

function bindingOf(spec: BindingSpec, prefix = 'binding'): void {
  if (spec === null || typeof spec !== 'object') throw new InvalidOptionError(prefix, spec, 'an object');
  name(`${prefix}.queue`, spec.queue);
  if (typeof spec.exchange !== 'string') throw new InvalidOptionError(`${prefix}.exchange`, spec.exchange, 'a string');
  if (spec.routingKey !== undefined && typeof spec.routingKey !== 'string') {
    throw new InvalidOptionError(`${prefix}.routingKey`, spec.routingKey, 'a string');
  }
}

function name(option: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0 || Buffer.byteLength(value) > 255) {
    throw new InvalidOptionError(option, value, 'a non-empty string of at most 255 bytes');
  }
}

function flag(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidOptionError(option, value, 'a boolean');
  return value;
}

function setArgument(args: Record<string, unknown>, key: string, value: number | undefined): void {
  if (value !== undefined) args[key] = value;
}
