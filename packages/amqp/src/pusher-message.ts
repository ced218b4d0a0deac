import {
  addDeath,
  causeText,
  DEATH_HEADER,
  EXPIRES_AT_HEADER,
  expiresAt,
  InvalidOptionError,
  type PushInfo,
  readDeaths,
  writeDeaths,
} from '@q/core';
import type { ClientPublishOptions } from './client.js';
import { TrackedPublish } from './confirm-tracker.js';
import type { PusherConfig } from './pusher-options.js';

/** The basic properties a pushed message may carry (an `AmqpDelivery`'s fit). */
export interface AmqpPushProperties {
  /** The `message-id` consumers de-duplicate by. */
  readonly messageId?: string;
  /** Correlates a reply with its request. */
  readonly correlationId?: string;
  /** The queue a reply should go to. */
  readonly replyTo?: string;
  /** The body's MIME type. */
  readonly contentType?: string;
  /** The body's encoding (e.g. `gzip`). */
  readonly contentEncoding?: string;
  /** The application's name for the message's type. */
  readonly type?: string;
  /** The producing application. */
  readonly appId?: string;
  /** 0 to 255, for priority queues. */
  readonly priority?: number;
  /** Seconds since the epoch. */
  readonly timestamp?: number;
  /** Per-message TTL, milliseconds as a decimal string (dropped when the message is dead-lettered). */
  readonly expiration?: string;
}

/** A message with headers and properties. An `AmqpDelivery` of `amqpProducerFactory` is one. */
export interface AmqpPushMessage {
  /** The body; a string is written as UTF-8. */
  readonly body: string | Buffer;
  /** Application headers. */
  readonly headers?: Readonly<Record<string, unknown>>;
  /** Basic properties; `userId` and `deliveryMode` are never copied (the pusher's connection and `persistent` decide). */
  readonly properties?: AmqpPushProperties;
  /** The routing key of this message, over the pusher's `routingKey` (not over `routingKeyOf`). */
  readonly routingKey?: string;
}

/** What an {@link AmqpPusher} takes. */
export type AmqpPusherMessage = string | Buffer | AmqpPushMessage;

/** The properties copied from a message, by name. */
const COPIED = [
  'correlationId',
  'replyTo',
  'contentType',
  'contentEncoding',
  'type',
  'appId',
  'priority',
  'timestamp',
] as const;

/** Roughly what a message adds to its body on the wire (frame headers, properties). */
const OVERHEAD_BYTES = 64;

/** How a {@link PushTask} reports its outcome. */
export interface TaskOutcome {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** One message on its way: prepared for `publish`, then tracked until its confirm. */
export class PushTask extends TrackedPublish {
  readonly messageId: string;
  readonly routingKey: string;
  readonly body: Buffer;
  readonly options: ClientPublishOptions;
  readonly #exchange: string;
  readonly #outcome: TaskOutcome;

  constructor(
    exchange: string,
    routingKey: string,
    body: Buffer,
    options: ClientPublishOptions & { messageId: string },
    outcome: TaskOutcome,
  ) {
    super();
    this.#exchange = exchange;
    this.routingKey = routingKey;
    this.body = body;
    this.options = options;
    this.messageId = options.messageId;
    this.#outcome = outcome;
  }

  get destination(): string {
    return `${this.#exchange}/${this.routingKey}`;
  }

  /** Bytes it counts for in a chunk. */
  get bytes(): number {
    return this.body.byteLength + OVERHEAD_BYTES;
  }

  confirmed(): void {
    this.#outcome.resolve();
  }

  failed(error: Error): void {
    this.#outcome.reject(error);
  }

  /** Settles it as failed before it was published (nothing was sent). */
  abandon(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.#outcome.reject(error);
  }
}

/**
 * Builds the publish of `message`: body, routing key and properties, with the `q-death` record of a
 * dead letter (`info.cause` or `info.attempts`) and the pusher's `ttlMs` (`expiration` and `q-expires-at`). Throws
 * `InvalidOptionError` for a message of another shape.
 */
export function prepare(
  message: AmqpPusherMessage,
  info: PushInfo | undefined,
  config: PusherConfig,
  nextId: () => string,
  outcome: TaskOutcome,
): PushTask {
  let body: Buffer;
  let own: AmqpPushMessage | undefined;
  if (typeof message === 'string') body = Buffer.from(message);
  else if (Buffer.isBuffer(message)) body = message;
  else if (
    message !== null &&
    typeof message === 'object' &&
    (typeof message.body === 'string' || Buffer.isBuffer(message.body))
  ) {
    own = message;
    body = typeof message.body === 'string' ? Buffer.from(message.body) : message.body;
  } else {
    throw new InvalidOptionError(
      'message',
      message,
      'a string, a Buffer or { body, headers?, properties?, routingKey? }',
    );
  }
  const routingKey =
    config.routingKeyOf !== undefined
      ? config.routingKeyOf(message)
      : (own?.routingKey ?? (config.routingKey as string));
  if (typeof routingKey !== 'string')
    throw new InvalidOptionError('routingKeyOf', routingKey, 'a function returning a string');
  const dead =
    info !== undefined && (info.cause !== undefined || info.attempts !== undefined || info.reason !== undefined);
  const options: { -readonly [K in keyof ClientPublishOptions]: ClientPublishOptions[K] } & { messageId: string } = {
    mandatory: config.mandatory,
    persistent: config.persistent,
    messageId: config.messageId?.(message) ?? own?.properties?.messageId ?? nextId(),
  };
  const properties = own?.properties;
  if (properties !== undefined) {
    for (const name of COPIED) {
      const value = properties[name];
      if (value !== undefined) (options as Record<string, unknown>)[name] = value;
    }
  }
  const expiration = earlier(dead ? undefined : properties?.expiration, config.ttlMs);
  if (expiration !== undefined) options.expiration = expiration;
  let headers = config.headers === undefined ? own?.headers : { ...config.headers, ...own?.headers };
  if (dead) {
    const queue = config.source ?? `${config.exchange}/${routingKey}`;
    const previous = headers?.[DEATH_HEADER];
    const deaths = addDeath(readDeaths(previous), {
      reason: info.reason ?? 'rejected',
      queue,
      ...(info.cause !== undefined ? { cause: causeText(info.cause) } : {}),
    });
    // Its old expiry goes, as RabbitMQ drops a dead letter's `expiration`: a message dead-lettered
    // because it expired must not expire again where it is moved to.
    const { [EXPIRES_AT_HEADER]: _expiry, ...rest } = headers ?? {};
    headers = { ...rest, [DEATH_HEADER]: writeDeaths(deaths) };
  }
  if (config.ttlMs !== undefined) {
    // `expiration` dies with the hop to another broker; the header travels with the message.
    headers = { ...headers, [EXPIRES_AT_HEADER]: earlierStamp(headers?.[EXPIRES_AT_HEADER], config.ttlMs) };
  }
  if (headers !== undefined) options.headers = headers as Record<string, unknown>;
  return new PushTask(config.exchange, routingKey, body, options, outcome);
}

/** The earlier of a carried {@link EXPIRES_AT_HEADER} value and now + `ttlMs`. */
function earlierStamp(carried: unknown, ttlMs: number): string {
  const stamped = expiresAt(ttlMs);
  const text = typeof carried === 'string' || typeof carried === 'number' ? String(carried) : undefined;
  const at = Buffer.isBuffer(carried) ? Number(carried.toString('latin1')) : Number(text);
  return Number.isFinite(at) && at <= Number(stamped) ? String(at) : stamped;
}

/** The lower of a message's own `expiration` and the pusher's `ttlMs`, as AMQP's string. */
function earlier(own: string | undefined, ttlMs: number | undefined): string | undefined {
  if (ttlMs === undefined) return own;
  const carried = own === undefined ? Number.NaN : Number(own);
  return Number.isFinite(carried) && carried <= ttlMs ? own : String(ttlMs);
}
