import {
  type ConfirmingPusher,
  InvalidOptionError,
  isOutboxName,
  type Logger,
  type Pusher,
  type RetryOptions,
} from '@q/core';
import { duration, integerAtLeast, nonEmptyString } from '@q/core/internal';
import type { SyncMode } from '@q/log';
import { isPermanentByDefault } from './permanent.js';
import { type ForwardRetryPolicy, forwardRetryPolicy } from './retry.js';
import type { OutboxSinkMessage } from './sink-message.js';

/** What an outbox pushes to: a pusher that confirms (`pushAndConfirm`), ideally with `pushBatch`. */
export type OutboxSink =
  | ConfirmingPusher<OutboxSinkMessage>
  | (Pusher<OutboxSinkMessage> & Required<Pick<Pusher<OutboxSinkMessage>, 'pushBatch'>>);

/** Options of {@link Outbox}. */
export interface OutboxOptions {
  /**
   * The outbox's directory (created when missing): its log, the `OUTBOX` id file, the `SEQ` reservation
   * file (direct-first, or `sync` other than `'always'`) and the dead-letter log `dead-letter/`. One process opens it at a time.
   */
  dir: string;
  /**
   * Where messages go: a pusher that confirms. With `pushBatch` (`RedisListPusher`, `KafkaPusher`) a batch
   * is one confirmed write and de-duplication by high-water mark is exact; otherwise each message goes
   * through `pushAndConfirm`.
   */
  sink: OutboxSink;
  /**
   * The outbox's own id, the first half of every message id (`<id>:<seq>`): 1 to 128 of `A-Z a-z 0-9 . _ -`.
   * Must stay the same for a directory: it is stored in `<dir>/OUTBOX`, and a different one is refused.
   * @default generated at the first open (21 random characters) and stored in `<dir>/OUTBOX`
   */
  id?: string;
  /**
   * `'write-ahead'`: every message is fsync'd to the log, and a forwarder pushes the log to the sink.
   * `'direct-first'`: messages go straight to the sink while it confirms within `directTimeoutMs`, and
   * are spilled to the log when it fails, is slow, or the in-memory backlog passes `maxDirectBacklog`.
   * @default 'write-ahead'
   */
  mode?: 'write-ahead' | 'direct-first';
  /**
   * When a message written to the log counts as safe (`@q/log`'s `sync`). With `{ intervalMs }` or
   * `'none'` a power loss can take the last sends back, and ids then come from the `SEQ` counter (fsync'd
   * ahead of use), so none is ever handed out twice.
   * @default 'always'
   */
  sync?: SyncMode;
  /** Bound on the log's segment files (at least 2 × `segmentBytes`). @default Infinity */
  maxBytes?: number;
  /**
   * What `send` does when the log is at `maxBytes` or the disk is full: wait until the forwarder freed
   * room (retrying with back-off), or reject with `OutboxFullError`.
   * @default 'block'
   */
  whenFull?: 'block' | 'reject';
  /** The log's segment size (1 KiB to 4 GiB): forwarded segments are deleted whole. @default 67108864 (64 MiB) */
  segmentBytes?: number;
  /** Largest message: body plus headers (0 to 1 GiB). @default 16777216 (16 MiB) */
  maxRecordBytes?: number;
  /** Most messages in one batch pushed to the sink. @default 5000 */
  batchMessages?: number;
  /** Most body bytes in one batch pushed to the sink (one message at least). @default 1048576 (1 MiB) */
  batchBytes?: number;
  /**
   * How long the forwarder may wait for a fuller batch (0 to 1000 ms): while fewer than `batchMessages`
   * records wait, it pushes at most once per `lingerMs`, as Kafka producers' `linger.ms` does, so a busy
   * outbox pushes thousands of messages per batch instead of one group commit's worth: about a tenth
   * less CPU per message, and about a tenth lower send rate with 256 senders on 2 cores, where each
   * large push holds the thread the sends share. The first message after a quiet spell goes at once.
   * Sends do not wait for it (they resolve once in the log); it adds up to this much time to the way to
   * the sink. @default 0
   */
  lingerMs?: number;
  /** Direct-first: a direct batch not confirmed within this many milliseconds is spilled to the log. @default 1000 */
  directTimeoutMs?: number;
  /** Direct-first: messages waiting in memory beyond which everything waiting is spilled to the log. @default 10000 */
  maxDirectBacklog?: number;
  /**
   * Back-off of the forwarder after a failed push: exponential with full jitter. `attempts` may only be
   * `Infinity`: a sink that is down is retried until it is back; a message it refuses goes to the
   * dead-letter log (see `isPermanent`).
   * @default { minDelayMs: 100, maxDelayMs: 30000, factor: 2, jitter: true, attempts: Infinity }
   */
  retry?: RetryOptions;
  /**
   * Whether a push failure means the sink refuses the message itself (retrying cannot help): the batch is
   * then bisected and the refused messages go to the dead-letter log.
   * @default errors whose `code` (or `type`, or a `cause`'s) is `Q_MESSAGE_TOO_LARGE`, `Q_INVALID_MESSAGE`,
   * `Q_INVALID_OUTBOX_ID`, `Q_UNROUTABLE`, `INVALID_TOPIC_EXCEPTION`, `MESSAGE_TOO_LARGE`,
   * `RECORD_LIST_TOO_LARGE` or `INVALID_RECORD`
   */
  isPermanent?: (error: unknown) => boolean;
  /** Idempotency keys remembered (the most recent ones); 0 turns `idempotencyKey` off. @default 100000 */
  idempotencyWindow?: number;
  /** Where state changes (sink down and up, spills, dead letters) are logged. @default consoleLogger */
  logger?: Logger;
}

/** {@link OutboxOptions} validated, defaults filled in. */
export interface ResolvedOutboxOptions {
  readonly dir: string;
  readonly sink: OutboxSink;
  readonly id: string | undefined;
  readonly mode: 'write-ahead' | 'direct-first';
  readonly sync: SyncMode;
  readonly maxBytes: number;
  readonly whenFull: 'block' | 'reject';
  readonly segmentBytes: number;
  readonly maxRecordBytes: number;
  readonly batchMessages: number;
  readonly batchBytes: number;
  readonly lingerMs: number;
  readonly directTimeoutMs: number;
  readonly maxDirectBacklog: number;
  readonly retry: ForwardRetryPolicy;
  readonly isPermanent: (error: unknown) => boolean;
  readonly idempotencyWindow: number;
  readonly logger: Logger | undefined;
}

const MIB = 1024 * 1024;

/** Validates {@link OutboxOptions}; throws `InvalidOptionError` naming the option and its range. */
export function resolveOutboxOptions(options: OutboxOptions): ResolvedOutboxOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
  const dir = nonEmptyString('dir', options.dir);
  const sink = options.sink;
  if (
    typeof sink !== 'object' ||
    sink === null ||
    (typeof sink.pushAndConfirm !== 'function' && typeof sink.pushBatch !== 'function')
  )
    throw new InvalidOptionError('sink', sink, 'a Pusher with pushBatch or pushAndConfirm (a confirming pusher)');
  const id = options.id;
  if (id !== undefined && !isOutboxName(id))
    throw new InvalidOptionError('id', id, '1 to 128 characters of A-Z a-z 0-9 . _ -');
  const mode = options.mode ?? 'write-ahead';
  if (mode !== 'write-ahead' && mode !== 'direct-first')
    throw new InvalidOptionError('mode', mode, "'write-ahead' or 'direct-first'");
  const sync = options.sync ?? 'always';
  if (sync !== 'always' && sync !== 'none' && (typeof sync !== 'object' || sync === null))
    throw new InvalidOptionError('sync', sync, "'always', 'none' or { intervalMs }");
  if (typeof sync === 'object') duration('sync.intervalMs', sync.intervalMs, 1);
  const segmentBytes = integerAtLeast('segmentBytes', options.segmentBytes ?? 64 * MIB, 1024, 2 ** 32);
  const maxRecordBytes = integerAtLeast('maxRecordBytes', options.maxRecordBytes ?? 16 * MIB, 0, 1024 * MIB);
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  if (maxBytes !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(maxBytes) || maxBytes < 2 * segmentBytes))
    throw new InvalidOptionError(
      'maxBytes',
      maxBytes,
      `an integer >= 2 × segmentBytes (${2 * segmentBytes}), or Infinity`,
    );
  const whenFull = options.whenFull ?? 'block';
  if (whenFull !== 'block' && whenFull !== 'reject')
    throw new InvalidOptionError('whenFull', whenFull, "'block' or 'reject'");
  const isPermanent = options.isPermanent ?? isPermanentByDefault;
  if (typeof isPermanent !== 'function') throw new InvalidOptionError('isPermanent', isPermanent, 'a function');
  const lingerMs = options.lingerMs ?? 0;
  if (typeof lingerMs !== 'number' || !(lingerMs >= 0 && lingerMs <= 1000))
    throw new InvalidOptionError('lingerMs', lingerMs, 'a number of milliseconds from 0 to 1000');
  const logger = options.logger;
  if (
    logger !== undefined &&
    (typeof logger !== 'object' || logger === null || typeof (logger as Partial<Logger>).warn !== 'function')
  )
    throw new InvalidOptionError('logger', logger, 'a Logger (error, warn, info, debug)');
  return {
    dir,
    sink,
    id,
    mode,
    sync,
    maxBytes,
    whenFull,
    segmentBytes,
    maxRecordBytes,
    batchMessages: integerAtLeast('batchMessages', options.batchMessages ?? 5000, 1, 1_000_000),
    batchBytes: integerAtLeast('batchBytes', options.batchBytes ?? MIB, 1),
    lingerMs,
    directTimeoutMs: duration('directTimeoutMs', options.directTimeoutMs ?? 1000, 1),
    maxDirectBacklog: integerAtLeast('maxDirectBacklog', options.maxDirectBacklog ?? 10_000, 1),
    retry: forwardRetryPolicy(options.retry),
    isPermanent,
    idempotencyWindow: integerAtLeast('idempotencyWindow', options.idempotencyWindow ?? 100_000, 0, 10_000_000),
    logger,
  };
}
