import { InvalidOptionError, type Logger, ShutdownManager, ttlOption } from '@q/core';
import { duration, integerAtLeast, nonEmptyString } from '@q/core/internal';
import { AmqpConnection } from './connection.js';
import { amqpUrl } from './connection-settings.js';
import type { AmqpPusherMessage } from './pusher-message.js';
import { Topology } from './topology.js';

/** Options of an {@link AmqpPusher}. */
export interface AmqpPusherOptions {
  /**
   * The broker: the pusher opens (and closes) a connection of its own with default
   * {@link AmqpConnectionOptions}. Give exactly one of `url` and `connection`.
   */
  url?: string;
  /** A connection to publish through (shared; the pusher does not close it). */
  connection?: AmqpConnection;
  /** The exchange to publish to; `''` is the default exchange (the routing key names the queue). */
  exchange: string;
  /**
   * The routing key of every message (unless `routingKeyOf` or the message's own `routingKey` says
   * otherwise). One of `routingKey` and `routingKeyOf` is required.
   */
  routingKey?: string;
  /** The routing key of each message, read when it is pushed. */
  routingKeyOf?: (message: AmqpPusherMessage) => string;
  /**
   * `mandatory` publishing: a message no queue receives comes back (`basic.return`) and its push
   * rejects with `UnroutableError` instead of being confirmed and lost.
   * @default true
   */
  mandatory?: boolean;
  /**
   * Delivery mode 2: durable queues write the message to disk before confirming it.
   * @default true
   */
  persistent?: boolean;
  /**
   * Publishes sent and not yet confirmed, at most: the pipeline depth. Publishing waits for room.
   * @default 1024
   */
  window?: number;
  /**
   * How long a message may wait, from the moment its chunk is sent, for its channel, for room in
   * the window and then for its confirm, in milliseconds. Past it the push rejects with
   * `ConfirmUnknownError` (the broker may still store a message that was sent; one that was not
   * sent yet is not sent any more). Checked every quarter of it (at most every second).
   * @default 30000
   */
  confirmTimeoutMs?: number;
  /**
   * Bytes per chunk handed to the channel at once (`ChunkExecutor` of `@q/core`).
   * @default 65536
   */
  chunkBytes?: number;
  /**
   * Longest wait of a partial chunk, in milliseconds.
   * @default 5
   */
  flushIntervalMs?: number;
  /**
   * The `message-id` property of each message (what consumers de-duplicate by: give a message the
   * same id when you push it again after a `ConfirmUnknownError`).
   * @default the message's own `properties.messageId`, else a unique id made by the pusher
   */
  messageId?: (message: AmqpPusherMessage) => string | undefined;
  /**
   * Headers added to every message (the message's own headers win).
   * @default none
   */
  headers?: Readonly<Record<string, unknown>>;
  /**
   * Per-message TTL (the `expiration` property), in milliseconds: RabbitMQ drops or dead-letters
   * (reason `expired`) a message older than this when it reaches the head of its queue. A message
   * that carries a shorter `expiration` keeps it. Also stamped as `q-expires-at` (`EXPIRES_AT_HEADER`
   * of `@q/core`: the earlier of one the message carries and now + `ttlMs`), which, unlike
   * `expiration`, survives a move to another adapter. A dead letter's old `q-expires-at` is dropped
   * first, as its `expiration` is.
   * @default none
   */
  ttlMs?: number;
  /**
   * What a broker `basic.nack` is reported as: `maxlen` when the destination queues use
   * `overflow: 'reject-publish'` (RabbitMQ's one ordinary reason to nack), `nack` otherwise. A nack
   * does not say why, so this is the pusher's belief, not the broker's word.
   * @default 'maxlen' when `topology` has a queue with a `reject-publish` overflow, else 'nack'
   */
  nackReason?: 'maxlen' | 'nack';
  /**
   * Declared on the pusher's connection after every (re)connect, before publishing.
   * @default none
   */
  topology?: Topology;
  /**
   * The queue named in the `q-death` record added to a dead letter (a push with `info.cause` or
   * `info.attempts`, from a Queue's `deadLetter`).
   * @default `"<exchange>/<routingKey>"` of the push
   */
  source?: string;
  /**
   * Told about every failed `push` (not `pushAndConfirm` or `pushBatch`, whose callers get the
   * error) with its message.
   * @default logs through `logger`
   */
  onError?: (error: unknown, message: AmqpPusherMessage) => void;
  /** Flushes on SIGTERM/SIGINT through this manager; `close()` unregisters. */
  shutdown?: ShutdownManager;
  /** @default consoleLogger */
  logger?: Logger;
}

/** {@link AmqpPusherOptions} validated, with defaults. */
export interface PusherConfig {
  readonly exchange: string;
  readonly routingKey: string | undefined;
  readonly routingKeyOf: ((message: AmqpPusherMessage) => string) | undefined;
  readonly mandatory: boolean;
  readonly persistent: boolean;
  readonly window: number;
  readonly confirmTimeoutMs: number;
  readonly chunkBytes: number;
  readonly flushIntervalMs: number;
  readonly messageId: ((message: AmqpPusherMessage) => string | undefined) | undefined;
  readonly headers: Readonly<Record<string, unknown>> | undefined;
  readonly ttlMs: number | undefined;
  readonly nackReason: 'maxlen' | 'nack';
  readonly source: string | undefined;
}

/** Validates `options`, throwing `InvalidOptionError` naming the first bad one. */
export function pusherConfig(options: AmqpPusherOptions): PusherConfig {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', options, 'an object');
  if ((options.url === undefined) === (options.connection === undefined)) {
    throw new InvalidOptionError('url', options.url, 'exactly one of url and connection');
  }
  if (typeof options.exchange !== 'string') {
    throw new InvalidOptionError('exchange', options.exchange, "an exchange's name ('' for the default exchange)");
  }
  const { routingKey, routingKeyOf } = options;
  if ((routingKey === undefined) === (routingKeyOf === undefined)) {
    throw new InvalidOptionError('routingKey', routingKey, 'exactly one of routingKey and routingKeyOf');
  }
  if (routingKey !== undefined && typeof routingKey !== 'string') {
    throw new InvalidOptionError('routingKey', routingKey, 'a string');
  }
  optionalFunction('routingKeyOf', routingKeyOf);
  optionalFunction('messageId', options.messageId);
  optionalFunction('onError', options.onError);
  if (options.headers !== undefined && (options.headers === null || typeof options.headers !== 'object')) {
    throw new InvalidOptionError('headers', options.headers, 'an object of header values');
  }
  const nackReason = options.nackReason ?? (rejectsPublishes(options.topology) ? 'maxlen' : 'nack');
  if (nackReason !== 'maxlen' && nackReason !== 'nack') {
    throw new InvalidOptionError('nackReason', nackReason, "'maxlen' or 'nack'");
  }
  const config: PusherConfig = {
    exchange: options.exchange,
    routingKey,
    routingKeyOf,
    mandatory: flag('mandatory', options.mandatory, true),
    persistent: flag('persistent', options.persistent, true),
    window: integerAtLeast('window', options.window ?? 1024, 1, 1_000_000),
    confirmTimeoutMs: duration('confirmTimeoutMs', options.confirmTimeoutMs ?? 30_000, 1),
    chunkBytes: integerAtLeast('chunkBytes', options.chunkBytes ?? 64 * 1024, 1),
    flushIntervalMs: duration('flushIntervalMs', options.flushIntervalMs ?? 5, Number.MIN_VALUE),
    messageId: options.messageId,
    headers: options.headers,
    ttlMs: ttlOption('ttlMs', options.ttlMs),
    nackReason,
    source: options.source === undefined ? undefined : nonEmptyString('source', options.source),
  };
  objectsOfKind(options);
  return config;
}

/** The options that are objects of ours: checked last, after the plain values. */
function objectsOfKind(options: AmqpPusherOptions): void {
  if (options.url !== undefined) amqpUrl(options.url);
  if (options.connection !== undefined && !(options.connection instanceof AmqpConnection)) {
    throw new InvalidOptionError('connection', options.connection, 'an AmqpConnection');
  }
  if (options.topology !== undefined && !(options.topology instanceof Topology)) {
    throw new InvalidOptionError('topology', options.topology, 'a Topology');
  }
  if (options.shutdown !== undefined && !(options.shutdown instanceof ShutdownManager)) {
    throw new InvalidOptionError('shutdown', options.shutdown, 'a ShutdownManager');
  }
}

function rejectsPublishes(topology: Topology | undefined): boolean {
  if (!(topology instanceof Topology)) return false; // refused below when given
  return topology.queues.some((q) => q.overflow === 'reject-publish' || q.overflow === 'reject-publish-dlx');
}

function flag(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidOptionError(option, value, 'a boolean');
  return value;
}

function optionalFunction(option: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') throw new InvalidOptionError(option, value, 'a function');
}
