import { availableParallelism } from 'node:os';
import type { Pusher } from '../pushers/pusher.js';
import { type RetryOptions, type RetryPolicy, retryPolicy } from '../support/backoff.js';
import { InvalidOptionError } from '../support/errors.js';
import { consoleLogger, type Logger } from '../support/logger.js';
import { duration, integerAtLeast, nonEmptyString, object, optionalFn } from '../support/validate.js';

/** Options of {@link Queue}. Every field is optional; go-zero's setters change the same values. */
export interface QueueOptions<T> {
  /**
   * Name used in logs, errors and stats (go-zero's `SetName`).
   * @default "queue"
   */
  name?: string;
  /**
   * Number of producer loops, each with its own producer from the factory (go-zero's `SetNumProducer`).
   * An integer from 1 to 10000.
   * @default os.availableParallelism()
   */
  producers?: number;
  /**
   * Number of consumer loops, each with its own consumer from the factory (go-zero's `SetNumConsumer`).
   * An integer from 1 to 10000.
   * @default 2 * os.availableParallelism()
   */
  consumers?: number;
  /**
   * Messages the channel buffers between producers and consumers. When it is full, producers wait, so
   * memory stays bounded whatever the backlog of the source. 0 is go-zero's unbuffered channel: each
   * message is handed from a producer to a consumer directly.
   * @default 1024
   */
  capacity?: number;
  /**
   * Most messages handed to one `consumeBatch` call; with `keyOf`, the longest run of consecutive
   * same-key messages a consumer loop takes from the channel at once. At most 1,000,000.
   * @default 256
   */
  batchSize?: number;
  /**
   * Limit for one `consume`, `consumeBatch` or `onEvent` call, in milliseconds; past it the attempt fails
   * with {@link HandlerTimeoutError} and the handler's `context.signal` is aborted. 0 means no limit.
   * @default 0
   */
  timeoutMs?: number;
  /** How failed attempts are retried. By default they are not (go-zero). */
  retry?: RetryOptions;
  /**
   * Where messages go after their last failed attempt. It receives the message and
   * `{ cause, attempts }`. Without it, such messages are settled as `failed`.
   *
   * A message is settled as `dead-lettered` (and so leaves its source) only once this pusher took it:
   * through {@link Pusher.pushAndConfirm} when the pusher has it (the destination confirmed the
   * write), otherwise through `push` (the queue warns once: a batching pusher's `push` resolves when
   * the message is buffered, so a crash before its flush loses it). A failed dead-letter push is
   * retried with `deadLetterBackoff` while the queue runs, holding the message (and its key); at the
   * stop deadline it is nacked back to its source, and a late push result is ignored.
   */
  deadLetter?: Pusher<T>;
  /**
   * Back-off between failed dead-letter pushes of one message (exponential with full jitter between
   * the two bounds). The push is retried until it succeeds or the stop deadline nacks the message.
   * @default { minDelayMs: 100, maxDelayMs: 5000 }
   */
  deadLetterBackoff?: {
    /** Delay after the first failed push, in milliseconds. @default 100 */
    minDelayMs?: number;
    /** Longest delay between pushes, in milliseconds. @default 5000 */
    maxDelayMs?: number;
  };
  /**
   * Orders by key: messages with the same key are handled one at a time, in channel order; messages
   * with different keys run in parallel. Return `undefined` for messages that need no ordering.
   * A consumer with `consume` only takes a run of consecutive messages with the same key and
   * producer at once (up to `batchSize`) and works through it one message at a time; a consumer with
   * `consumeBatch` gets batches holding every key in them for the call, never two calls with one key
   * at once. Messages whose key another consumer holds wait in the holder's backlog, so a slow key
   * holds back only its holder (and, with `consumeBatch`, the keys that share its batch). Consumers
   * stop taking from the channel while the backlogs hold `max(capacity, batchSize)` messages or
   * more, so memory is bounded by the capacity, a batch per consumer and that bound (plus one
   * batch). Keys are held by slot (8,192 of them, by hash; integer keys modulo 8,192): keys sharing a
   * slot are serialized, never reordered. With `timeoutMs`, a call that timed out keeps its keys until
   * it has really ended (or the stop deadline passed).
   */
  keyOf?: (message: T) => string | number | undefined;
  /**
   * Where warnings and unlistened errors go. Message bodies are never logged.
   * @default consoleLogger (warnings and errors only)
   */
  logger?: Logger;
  /**
   * Period of the `stats` event, in milliseconds (go-zero reports every minute). 0 disables it.
   * @default 60000
   */
  statsIntervalMs?: number;
  /**
   * Default deadline of {@link Queue.stop}: after it, whatever is still unconsumed is nacked back to
   * its producer and `start()` resolves.
   * @default 30000
   */
  stopTimeoutMs?: number;
  /**
   * Back-off between failed factory calls (exponential with full jitter between the two bounds).
   * @default { minDelayMs: 100, maxDelayMs: 5000 }
   */
  factoryBackoff?: {
    /** Delay after the first failed call, in milliseconds. @default 100 */
    minDelayMs?: number;
    /** Longest delay between calls, in milliseconds. @default 5000 */
    maxDelayMs?: number;
  };
  /**
   * Longest pause after `produce` returned nothing, in milliseconds. The pause starts at one event-loop
   * turn and doubles per empty result up to this bound, so a producer that does not wait by itself
   * never spins the CPU.
   * @default 100
   */
  idleDelayMs?: number;
  /** Stops the queue (with the default stop timeout) when aborted. */
  signal?: AbortSignal;
}

/** @internal Options after validation, with defaults applied. */
export interface ResolvedQueueOptions<T> {
  name: string;
  producers: number;
  consumers: number;
  capacity: number;
  batchSize: number;
  timeoutMs: number;
  retry: RetryPolicy;
  deadLetter: Pusher<T> | undefined;
  keyOf: ((message: T) => string | number | undefined) | undefined;
  logger: Logger;
  statsIntervalMs: number;
  stopTimeoutMs: number;
  factoryBackoff: RetryPolicy;
  deadLetterBackoff: RetryPolicy;
  idleDelayMs: number;
  signal: AbortSignal | undefined;
}

/** Most loops of either kind; far above any useful value, low enough to catch a unit mix-up. */
export const MAX_LOOPS = 10_000;
/** The largest `batchSize`. */
export const MAX_BATCH = 1_000_000;

/** @internal Validates every option; throws {@link InvalidOptionError} naming the first bad one. */
export function resolveQueueOptions<T>(input: unknown): ResolvedQueueOptions<T> {
  const o = input === undefined ? {} : object('options', input);
  const cores = availableParallelism();
  const deadLetter = o.deadLetter;
  if (
    deadLetter !== undefined &&
    (deadLetter === null ||
      typeof deadLetter !== 'object' ||
      typeof (deadLetter as Pusher<T>).push !== 'function' ||
      typeof (deadLetter as Pusher<T>).name !== 'function')
  ) {
    throw new InvalidOptionError('deadLetter', deadLetter, 'a Pusher (an object with push() and name())');
  }
  const logger = o.logger ?? consoleLogger;
  if (logger === null || typeof logger !== 'object' || typeof (logger as Logger).error !== 'function') {
    throw new InvalidOptionError('logger', logger, 'a Logger (an object with error, warn, info and debug)');
  }
  const signal = o.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new InvalidOptionError('signal', signal, 'an AbortSignal');
  }
  return {
    name: nonEmptyString('name', o.name ?? 'queue'),
    producers: integerAtLeast('producers', o.producers ?? cores, 1, MAX_LOOPS),
    consumers: integerAtLeast('consumers', o.consumers ?? cores * 2, 1, MAX_LOOPS),
    capacity: integerAtLeast('capacity', o.capacity ?? 1024, 0),
    batchSize: integerAtLeast('batchSize', o.batchSize ?? 256, 1, MAX_BATCH),
    timeoutMs: duration('timeoutMs', o.timeoutMs ?? 0),
    retry: retryPolicy(o.retry),
    deadLetter: deadLetter as Pusher<T> | undefined,
    keyOf: optionalFn('keyOf', o.keyOf),
    logger: logger as Logger,
    statsIntervalMs: duration('statsIntervalMs', o.statsIntervalMs ?? 60_000),
    stopTimeoutMs: duration('stopTimeoutMs', o.stopTimeoutMs ?? 30_000, 0, true),
    factoryBackoff: retryPolicy(o.factoryBackoff, 'factoryBackoff', { minDelayMs: 100, maxDelayMs: 5000 }),
    deadLetterBackoff: retryPolicy(o.deadLetterBackoff, 'deadLetterBackoff', { minDelayMs: 100, maxDelayMs: 5000 }),
    idleDelayMs: duration('idleDelayMs', o.idleDelayMs ?? 100, 1),
    signal,
  };
}
