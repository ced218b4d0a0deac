import { consoleLogger, InvalidOptionError, type Logger } from '@q/core';
import { duration, integerAtLeast, safeLogger } from '@q/core/internal';
import type { LogRecord, SegmentLog } from '@q/log';
import { DeliveryEngine } from '../delivery/delivery-engine.js';
import type { DeliveryEngineOptions } from '../delivery/delivery-options.js';

/** Options of {@link HttpDeliverer}. */
export interface HttpDelivererOptions {
  /** The log to deliver (its owner opens and closes it; the deliverer never closes it). */
  log: SegmentLog;
  /**
   * The cursor the deliverer reads from and commits to (`A-Z a-z 0-9 . _ -`, 1 to 200, not `replay-<n>`,
   * which replays use).
   * @default 'http'
   */
  cursor?: string;
  /** Target of the records without a `q-url` header: an absolute `http:` or `https:` URL. @default none */
  url?: string;
  /** Target of a record, before its `q-url` header and `url` (returning undefined falls back to them). @default none */
  urlOf?: (record: LogRecord) => string | undefined;
  /**
   * Ordering key of a record, instead of its `q-key` header (undefined: no key). A lone surrogate in it
   * counts as U+FFFD, as it would after a round trip through a header (parking stores the key in one).
   * @default the `q-key` header
   */
  keyOf?: (record: LogRecord) => string | undefined;
  /**
   * Ids of records without a `q-id` header are `<idPrefix>_<seq>`. 1 to 200 characters, no `.` and no
   * whitespace (Standard Webhooks signs `id.timestamp.body`).
   * @default 'q'
   */
  idPrefix?: string;
  /**
   * Records read but not finished (delivered or dead-lettered), at most: reading waits for room (1 to
   * 1,000,000). Bounds memory whatever the backlog; also the most records a crash may re-send.
   * @default 10000
   */
  maxUnfinished?: number;
  /**
   * Least time between two cursor commits, in milliseconds (each is a temp file, two fsyncs and a rename).
   * A crash re-sends what finished since the last one.
   * @default 50
   */
  commitIntervalMs?: number;
  /**
   * An engine to share (its owner closes it), or options for an own one, made at `start()` with dead
   * letters at `deadLetterDir` and closed by `close()`.
   * @default an own engine with DeliveryEngine's defaults
   */
  engine?: DeliveryEngine | Omit<DeliveryEngineOptions, 'deadLetters'>;
  /** Directory of the own engine's dead-letter log. Required when `engine` is not an instance. @default none */
  deadLetterDir?: string;
  /** Where failures are logged (and `error` events when nobody listens). @default consoleLogger */
  logger?: Logger;
  /**
   * Directory of the park log (opened by `start()`, closed by `close()`). When set and the window of
   * `maxUnfinished` is three quarters full, records that only wait for their retry are moved there
   * (durably; a keyed one with its key's whole line, and the key's later records behind it), so a down
   * endpoint does not stop reading for the others; they are sent again from there at their retry time,
   * with the same id, each key in its order. Unset: no parking.
   * @default undefined (parking off)
   */
  parkDir?: string;
}

/** {@link HttpDelivererOptions} validated, defaults filled in. */
export interface ResolvedDelivererOptions {
  readonly log: SegmentLog;
  readonly cursor: string;
  readonly url: string | undefined;
  readonly urlOf: ((record: LogRecord) => string | undefined) | undefined;
  readonly keyOf: ((record: LogRecord) => string | undefined) | undefined;
  readonly idPrefix: string;
  readonly maxUnfinished: number;
  readonly commitIntervalMs: number;
  /** A shared engine, or the options of an own one. */
  readonly engine: DeliveryEngine | Omit<DeliveryEngineOptions, 'deadLetters'>;
  readonly deadLetterDir: string | undefined;
  readonly logger: Logger;
  readonly parkDir: string | undefined;
}

const CURSOR_NAME = /^[A-Za-z0-9._-]{1,200}$/;
/** Names of the replays' own cursors. */
export const REPLAY_CURSOR = /^replay-\d+$/;
const ID_PREFIX = /^[^.\s]{1,200}$/;

/** Whether `url` is an absolute `http:` or `https:` URL. */
export function isHttpUrl(url: unknown): url is string {
  if (typeof url !== 'string') return false;
  try {
    const { protocol } = new URL(url);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

function optionalFn<F>(name: string, value: unknown): F | undefined {
  if (value !== undefined && typeof value !== 'function') throw new InvalidOptionError(name, value, 'a function');
  return value as F | undefined;
}

/** Validates {@link HttpDelivererOptions}; throws `InvalidOptionError` naming the option and its range. */
export function resolveDelivererOptions(options: HttpDelivererOptions): ResolvedDelivererOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
  const log = options.log;
  if (typeof log !== 'object' || log === null || typeof log.reader !== 'function' || typeof log.cursor !== 'function')
    throw new InvalidOptionError('log', log, 'a SegmentLog (openLog)');
  const cursor = options.cursor ?? 'http';
  if (typeof cursor !== 'string' || !CURSOR_NAME.test(cursor) || REPLAY_CURSOR.test(cursor))
    throw new InvalidOptionError('cursor', cursor, "1 to 200 of A-Z a-z 0-9 . _ -, other than 'replay-<n>'");
  if (options.url !== undefined && !isHttpUrl(options.url))
    throw new InvalidOptionError('url', options.url, 'an absolute http: or https: URL');
  const idPrefix = options.idPrefix ?? 'q';
  if (typeof idPrefix !== 'string' || !ID_PREFIX.test(idPrefix))
    throw new InvalidOptionError('idPrefix', idPrefix, '1 to 200 characters, no "." and no whitespace');
  const engine = options.engine ?? {};
  if (typeof engine !== 'object' || engine === null)
    throw new InvalidOptionError('engine', engine, 'a DeliveryEngine, or DeliveryEngineOptions without deadLetters');
  const deadLetterDir = options.deadLetterDir;
  if (!(engine instanceof DeliveryEngine) && (typeof deadLetterDir !== 'string' || deadLetterDir.length === 0))
    throw new InvalidOptionError('deadLetterDir', deadLetterDir, 'a directory path (required without a shared engine)');
  const parkDir = options.parkDir;
  if (parkDir !== undefined && (typeof parkDir !== 'string' || parkDir.length === 0))
    throw new InvalidOptionError('parkDir', parkDir, 'a directory path, or undefined (no parking)');
  const logger = options.logger ?? consoleLogger;
  if (typeof logger !== 'object' || logger === null || typeof logger.error !== 'function')
    throw new InvalidOptionError('logger', logger, 'a Logger (error, warn, info, debug)');
  return {
    log,
    cursor,
    url: options.url,
    urlOf: optionalFn('urlOf', options.urlOf),
    keyOf: optionalFn('keyOf', options.keyOf),
    idPrefix,
    maxUnfinished: integerAtLeast('maxUnfinished', options.maxUnfinished ?? 10_000, 1, 1_000_000),
    commitIntervalMs: duration('commitIntervalMs', options.commitIntervalMs ?? 50),
    engine,
    deadLetterDir: engine instanceof DeliveryEngine ? undefined : deadLetterDir,
    logger: safeLogger(logger),
    parkDir,
  };
}
