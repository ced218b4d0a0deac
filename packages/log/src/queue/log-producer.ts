import {
  InvalidOptionError,
  type Logger,
  type Outcome,
  type Producer,
  type ProducerFactory,
  silentLogger,
} from '@q/core';
import { abortable, duration, integerAtLeast, nonEmptyString, OrderedCommits, safeLogger } from '@q/core/internal';
import type { Cursor } from '../cursor.js';
import type { LogRecord } from '../record.js';
import type { SegmentLog } from '../segment-log.js';
import { LogMessage } from './log-message.js';

/** Options of {@link logProducerFactory}. */
export interface LogProducerOptions {
  /** The log to read; the producer never closes it. */
  log: SegmentLog;
  /**
   * Where reading starts and what settlement commits: a cursor of `log`, or its name (opened with
   * `log.cursor(name)`). One queue per cursor: two producers committing one cursor would each pass
   * the other's unfinished messages.
   */
  cursor: Cursor | string;
  /**
   * Most records one `produce()` returns (one `read` of the log).
   * @default 256
   */
  batchSize?: number;
  /**
   * Cursor commits are written at most this often while messages settle (each is a small file
   * written, fdatasynced, renamed and its directory fsynced), and once more when the queue closes
   * the producer. A crash redoes what settled since the last commit: at most this long's worth of
   * settlements, plus what was in flight. 0 commits after every settlement that moved the watermark
   * (one commit at a time; those that arrive meanwhile go together in the next).
   * @default 100
   */
  commitIntervalMs?: number;
  /**
   * kq's meaning, as `@q/kafka`'s `forceCommit`: a message whose handler failed for good (after its
   * retries, with no dead letter or a dead-letter push that failed too) is committed past. With
   * false the watermark stops at it, so the next start reads it (and everything after it) again.
   * @default true
   */
  forceCommit?: boolean;
  /**
   * Called with the cursor's new position after each commit that reached the disk (monitoring and
   * tests: everything below it is never delivered again). Errors it throws are ignored.
   * @default none
   */
  onCommit?: (position: number) => void;
  /**
   * Where failed cursor commits are reported (they are retried at the next one).
   * @default silentLogger
   */
  logger?: Logger;
}

/**
 * The producer {@link logProducerFactory} makes: reads the log from the cursor in order, and
 * commits the cursor up to the lowest unsettled message (the ordered-commit rule shared with
 * `@q/kafka`, `OrderedCommits` in `@q/core/internal`).
 */
export class LogProducer implements Producer<LogMessage> {
  readonly #log: SegmentLog;
  readonly #cursor: Cursor;
  readonly #batchSize: number;
  readonly #commitIntervalMs: number;
  readonly #forceCommit: boolean;
  readonly #onCommit: ((position: number) => void) | undefined;
  readonly #logger: Logger;
  readonly #commits = new OrderedCommits<LogMessage>(1024);
  /** The next sequence number to read. */
  #next: number;
  /** One read at a time: the queue may run several producer loops on this one producer. */
  #reading: Promise<unknown> = Promise.resolve();
  #committed: number;
  #committing: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Ends a wait for new records when the queue closes the producer. */
  readonly #closing = new AbortController();
  #closed: Promise<void> | undefined;

  /** @internal Made by {@link logProducerFactory}. */
  constructor(o: ResolvedLogProducerOptions, cursor: Cursor) {
    this.#log = o.log;
    this.#cursor = cursor;
    this.#batchSize = o.batchSize;
    this.#commitIntervalMs = o.commitIntervalMs;
    this.#forceCommit = o.forceCommit;
    this.#onCommit = o.onCommit;
    this.#logger = o.logger;
    this.#next = cursor.position;
    this.#committed = cursor.position;
  }

  /** The cursor's position as last committed by this producer (or as found at its start). */
  get committed(): number {
    return this.#committed;
  }

  /** The position everything before which settled: what the next commit writes. */
  get watermark(): number {
    const last = this.#commits.lastSettled;
    return last === undefined ? this.#committed : Math.max(this.#committed, last.seq + 1);
  }

  /** Messages produced and not settled yet (and those settled behind the lowest unsettled one). */
  get pending(): number {
    return this.#commits.pending;
  }

  /**
   * Up to `batchSize` durable records from where the previous call ended; when there are none yet,
   * waits for the log's writer to make more durable (no polling) until `signal` aborts.
   */
  produce(signal: AbortSignal): Promise<LogMessage[] | undefined> {
    const turn = this.#reading.then(() => this.#produce(signal));
    this.#reading = turn.catch(() => undefined);
    return turn;
  }

  async #produce(signal: AbortSignal): Promise<LogMessage[] | undefined> {
    if (signal.aborted || this.#closed !== undefined) return undefined;
    let records: readonly LogRecord[] = await this.#log.read(this.#next, { max: this.#batchSize });
    if (records.length === 0) records = await this.#waitForRecords(signal);
    if (records.length === 0) return undefined;
    const out = new Array<LogMessage>(records.length);
    for (let i = 0; i < records.length; i++) {
      const message = new LogMessage(records[i] as LogRecord);
      this.#commits.track(message);
      out[i] = message;
    }
    this.#next = (out[out.length - 1] as LogMessage).seq + 1;
    return out;
  }

  /** Waits on a tailing reader for the next durable record, then reads the rest of a batch. */
  async #waitForRecords(signal: AbortSignal): Promise<readonly LogRecord[]> {
    const stop = AbortSignal.any([signal, this.#closing.signal]);
    const reader = this.#log.reader({ from: this.#next, signal: stop, batch: 1 });
    let first: IteratorResult<LogRecord> | undefined;
    try {
      first = await abortable(reader.next(), stop, () => undefined);
    } catch (error) {
      if (stop.aborted) return [];
      throw error;
    } finally {
      // Not awaited when aborted: a reader that ends late must not hold the queue's stop.
      const ended = reader.return?.();
      if (ended !== undefined && !stop.aborted) await ended.catch(() => undefined);
      else void ended?.catch(() => undefined);
    }
    if (first === undefined || first.done === true || stop.aborted) return [];
    const record = first.value;
    if (this.#batchSize === 1) return [record];
    const more = await this.#log.read(record.seq + 1, { max: this.#batchSize - 1 });
    return [record, ...more];
  }

  /**
   * Consumed and dead-lettered messages settle; failed ones too with `forceCommit`; nacked ones
   * never (the stop deadline gave them back: the next start reads them again). A settlement that
   * moves the watermark schedules a cursor commit.
   */
  settle(message: LogMessage, outcome: Outcome): void {
    if (outcome.type === 'nacked' || (outcome.type === 'failed' && !this.#forceCommit)) return;
    if (!this.#commits.settle(message) || this.#closed !== undefined) return;
    // A commit under way schedules the next one itself when it ends.
    if (this.#committing === undefined) this.#schedule();
  }

  /** Commits the watermark if it moved; one commit at a time, the latest position each time. */
  #commit(): Promise<void> {
    this.#timer = undefined;
    if (this.#committing !== undefined) return this.#committing;
    const position = this.watermark;
    if (position <= this.#committed) return Promise.resolve();
    this.#committing = (async () => {
      try {
        await this.#cursor.commit(position);
        this.#committed = position;
        try {
          this.#onCommit?.(position);
        } catch {
          // A monitoring hook never stops commits.
        }
      } catch (error) {
        this.#logger.warn(
          { cursor: this.#cursor.name, position, err: error instanceof Error ? error.message : String(error) },
          'log cursor commit failed; retrying at the next settlement',
        );
      } finally {
        this.#committing = undefined;
      }
      if (this.#closed === undefined && this.watermark > this.#committed) this.#schedule();
    })();
    return this.#committing;
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    if (this.#commitIntervalMs === 0) void this.#commit();
    else {
      // Never what keeps a process alive: close() writes the final commit anyway.
      this.#timer = setTimeout(() => void this.#commit(), this.#commitIntervalMs);
      this.#timer.unref();
    }
  }

  /** Whether the queue closed it (a factory call after that starts a new producer). */
  get closing(): boolean {
    return this.#closed !== undefined;
  }

  /**
   * Ends any wait for records and writes the final commit (everything settled by now; nacked and
   * unsettled messages stay above it). The log and cursor stay open: they belong to the caller.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing.abort();
      clearTimeout(this.#timer);
      this.#timer = undefined;
      await this.#committing;
      await this.#commit();
    })();
    return this.#closed;
  }
}

/** {@link LogProducerOptions} validated, defaults filled in. */
interface ResolvedLogProducerOptions {
  readonly log: SegmentLog;
  readonly cursor: Cursor | string;
  readonly batchSize: number;
  readonly commitIntervalMs: number;
  readonly forceCommit: boolean;
  readonly onCommit: ((position: number) => void) | undefined;
  readonly logger: Logger;
}

function resolve(options: LogProducerOptions): ResolvedLogProducerOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
  const { log, cursor } = options;
  if (typeof log !== 'object' || log === null || typeof log.read !== 'function') {
    throw new InvalidOptionError('log', log, 'a SegmentLog (from openLog)');
  }
  if (typeof cursor === 'string') nonEmptyString('cursor', cursor);
  else if (typeof cursor !== 'object' || cursor === null || typeof cursor.commit !== 'function') {
    throw new InvalidOptionError('cursor', cursor, 'a Cursor of the log or a cursor name');
  }
  const forceCommit = options.forceCommit ?? true;
  if (typeof forceCommit !== 'boolean') throw new InvalidOptionError('forceCommit', forceCommit, 'a boolean');
  const onCommit = options.onCommit;
  if (onCommit !== undefined && typeof onCommit !== 'function') {
    throw new InvalidOptionError('onCommit', onCommit, 'a function');
  }
  return {
    log,
    cursor,
    batchSize: integerAtLeast('batchSize', options.batchSize ?? 256, 1, 1_000_000),
    commitIntervalMs: duration('commitIntervalMs', options.commitIntervalMs ?? 100),
    forceCommit,
    onCommit,
    logger: safeLogger(options.logger ?? silentLogger),
  };
}

/**
 * A `ProducerFactory` for `@q/core`'s `Queue` that feeds it from a log cursor: at-least-once, in
 * order of sequence numbers, committing the cursor only up to the lowest unsettled message.
 *
 * Every producer loop of the queue gets the same producer (the queue closes it once); a
 * factory called again after that (a new queue on the same options) starts a new one at the
 * cursor's committed position. A crash (or a stop whose deadline nacked messages) redoes everything
 * from that position: what settled since the last commit ({@link LogProducerOptions.commitIntervalMs})
 * and what was still running. Nothing below it is delivered again.
 *
 * ```ts
 * import { Queue } from '@q/core';
 * import { logProducerFactory, openLog } from '@q/log';
 *
 * const log = await openLog({ dir: '/var/lib/app/outbox' });
 * const queue = new Queue(logProducerFactory({ log, cursor: 'sender' }), () => ({
 *   consume: async (m) => console.log(m.seq, m.body.toString()),
 * }));
 * ```
 */
export function logProducerFactory(options: LogProducerOptions): ProducerFactory<LogMessage> {
  const o = resolve(options);
  let current: LogProducer | undefined;
  let opening: Promise<LogProducer> | undefined;
  return async () => {
    if (current !== undefined && !current.closing) return current;
    opening ??= (async () => {
      try {
        // After a queue closed the previous one, the next starts afresh from its final commit.
        if (current?.closing === true) await current.close();
        const cursor = typeof o.cursor === 'string' ? await o.log.cursor(o.cursor) : o.cursor;
        current = new LogProducer(o, cursor);
        return current;
      } finally {
        opening = undefined;
      }
    })();
    return opening;
  };
}
