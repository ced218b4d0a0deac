import { InvalidOptionError, type Logger } from '@q/core';
import { duration, integerAtLeast, nonEmptyString } from '@q/core/internal';
import type { DeadLetters } from '../delivery/dead-letters.js';
import { type DeliveryEngineOptions, resolveDeliveryOptions } from '../delivery/delivery-options.js';

/** How each topic's deliverer delivers: its own engine's options (dead letters go to the topic's own log). */
export type TopicDeliveryOptions = Omit<DeliveryEngineOptions, 'deadLetters' | 'dispatcher' | 'logger'>;

/** Options of {@link HttpQueueServer}. */
export interface HttpQueueServerOptions {
  /**
   * The server's directory: one `topics/<topic>/log` (the records, fsync'd) and
   * `topics/<topic>/dead-letter` per topic. Every topic found there is reopened and its delivery
   * resumed at start.
   */
  dir: string;
  /**
   * TCP port; 0 picks a free one (read {@link HttpQueueServer.start}'s result).
   * @default 7391
   */
  port?: number;
  /**
   * TCP address to listen on.
   * @default "127.0.0.1"
   */
  host?: string;
  /**
   * Also listen on this unix socket path. A socket file left by a process that died is replaced; one
   * a live process listens on is not (start rejects).
   * @default none
   */
  socket?: string;
  /**
   * Largest request body in bytes (a form, or a JSON message with its envelope): larger ones get 413.
   * @default 1048576 (1 MiB)
   */
  maxBodyBytes?: number;
  /**
   * Most topics (each holds open files and a deliverer): a push creating one more gets 507.
   * @default 1000
   */
  maxTopics?: number;
  /**
   * `close()`'s deadline when it is given none, in milliseconds: deliveries under way get this long
   * to finish; the rest are sent again after the next start (same ids).
   * @default 10000
   */
  closeTimeoutMs?: number;
  /** How every topic delivers (concurrency, timeouts, retries, secrets). @default the engine's defaults */
  delivery?: TopicDeliveryOptions;
  /**
   * Memory for the topics' tail caches, all topics together, in bytes: a topic's deliverer that keeps up
   * reads new records from memory rather than from disk, each topic holding at most 4 MiB of them. With
   * many busy topics they share this much; a topic left without room reads from disk. 0 turns it off.
   * @default 67108864 (64 MiB)
   */
  tailCacheBytes?: number;
  /** Where deliveries' failures, dead letters and request failures (500s) are logged. @default silentLogger */
  logger?: Logger;
}

/** {@link HttpQueueServerOptions} with every default applied. */
export interface ResolvedServerOptions {
  readonly dir: string;
  readonly port: number;
  readonly host: string;
  readonly socket: string | undefined;
  readonly maxBodyBytes: number;
  readonly maxTopics: number;
  readonly closeTimeoutMs: number;
  readonly delivery: TopicDeliveryOptions;
  readonly tailCacheBytes: number;
  readonly logger: Logger | undefined;
}

/** Default TCP port of `q-http serve` (OPQ's was 8999; 7391 sits beside q-outbox's 7390). */
export const DEFAULT_PORT = 7391;
/** Default of {@link HttpQueueServerOptions.maxBodyBytes}. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Default of {@link HttpQueueServerOptions.maxTopics}. */
export const DEFAULT_MAX_TOPICS = 1000;
/** Default of {@link HttpQueueServerOptions.tailCacheBytes}. */
export const DEFAULT_TAIL_CACHE_BYTES = 64 * 1024 * 1024;
/** Default of {@link HttpQueueServerOptions.closeTimeoutMs}. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;

const DEAD_LETTERS_STAND_IN = { add: () => Promise.resolve(0) } as unknown as DeadLetters;

/**
 * `options` with defaults applied.
 * @throws {InvalidOptionError} naming the option and its allowed values.
 */
export function resolveServerOptions(options: HttpQueueServerOptions): ResolvedServerOptions {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', options, 'an object');
  const delivery = options.delivery ?? {};
  if (delivery === null || typeof delivery !== 'object')
    throw new InvalidOptionError('delivery', delivery, 'an object of delivery engine options');
  // Checked now rather than when the first topic opens (a bad secret would fail every push), with a
  // stand-in for the dead letters each topic opens of its own.
  resolveDeliveryOptions({ ...delivery, deadLetters: DEAD_LETTERS_STAND_IN });
  return {
    dir: nonEmptyString('dir', options.dir),
    port: integerAtLeast('port', options.port ?? DEFAULT_PORT, 0, 65535),
    host: nonEmptyString('host', options.host ?? '127.0.0.1'),
    socket: options.socket === undefined ? undefined : nonEmptyString('socket', options.socket),
    maxBodyBytes: integerAtLeast('maxBodyBytes', options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, 1),
    maxTopics: integerAtLeast('maxTopics', options.maxTopics ?? DEFAULT_MAX_TOPICS, 1),
    closeTimeoutMs: duration('closeTimeoutMs', options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS),
    delivery,
    tailCacheBytes: integerAtLeast('tailCacheBytes', options.tailCacheBytes ?? DEFAULT_TAIL_CACHE_BYTES, 0),
    logger: options.logger,
  };
}
