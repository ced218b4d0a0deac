import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { consoleLogger, InvalidOptionError, type Logger } from '@q/core';
import { safeLogger } from '@q/core/internal';
import { type Cursor, CursorStore } from './cursor.js';
import { LogClosedError } from './errors.js';
import { GroupCommitter, type PreparedRecord } from './group-commit.js';
import { LockFile } from './lock.js';
import { LogState } from './log-state.js';
import { type LogOptions, type ResolvedLogOptions, resolveLogOptions } from './options.js';
import { prepareRecord } from './prepare.js';
import { readRecords } from './read-path.js';
import { TailIterator } from './reader.js';
import type { AppendInput, LogRecord } from './record.js';
import { type RecoveryReport, recoverSegments } from './recovery.js';
import { Retention } from './retention.js';

/**
 * Opens (or creates) the log in `options.dir`: takes its lock, recovers its segments (a torn tail is cut and
 * reported in {@link SegmentLog.recovery}; damage followed by valid records fails with `LogCorruptionError`
 * unless `onCorruption: 'truncate'`) and loads its cursors.
 */
export async function openLog(options: LogOptions): Promise<SegmentLog> {
  const resolved = resolveLogOptions(options);
  const logger = safeLogger(resolved.logger ?? consoleLogger);
  await fsp.mkdir(resolved.dir, { recursive: true });
  const lock = await LockFile.acquire(resolved.dir);
  try {
    const segDir = join(resolved.dir, 'segments');
    await fsp.mkdir(segDir, { recursive: true });
    let state: LogState | undefined;
    const host = {
      nextSeq: () => state?.nextSeq ?? 0,
      firstSeq: () => state?.firstSeq ?? 0,
      committed: () => retention?.kick(),
      closed: () => state?.closed ?? false,
    };
    let retention: Retention | undefined;
    const cursors = await CursorStore.load(join(resolved.dir, 'cursors'), host);
    const recovered = await recoverSegments(segDir, resolved, cursors.maxStored(), logger);
    state = new LogState(resolved, segDir, logger, recovered.segments, recovered.nextSeq);
    retention = new Retention(state, cursors);
    return new SegmentLog(state, resolved, lock, cursors, retention, recovered.report);
  } catch (err) {
    await lock.release();
    throw err;
  }
}

/**
 * An append-only log of records in segment files, with group-committed durability, reads by seq, tailing
 * readers and named cursors. Open it with {@link openLog}; one process writes a directory at a time.
 */
export class SegmentLog implements AsyncDisposable {
  /** The log's directory. */
  readonly dir: string;
  /** What `openLog` found and repaired. */
  readonly recovery: RecoveryReport;
  readonly #state: LogState;
  readonly #options: ResolvedLogOptions;
  readonly #lock: LockFile;
  readonly #cursors: CursorStore;
  readonly #retention: Retention;
  readonly #writer: GroupCommitter;
  #closing: Promise<void> | undefined;

  /** @internal Use {@link openLog}. */
  constructor(
    state: LogState,
    options: ResolvedLogOptions,
    lock: LockFile,
    cursors: CursorStore,
    retention: Retention,
    recovery: RecoveryReport,
  ) {
    this.dir = options.dir;
    this.#state = state;
    this.#options = options;
    this.#lock = lock;
    this.#cursors = cursors;
    this.#retention = retention;
    this.recovery = recovery;
    this.#writer = new GroupCommitter(state, {
      makeRoom: async (needBytes) => {
        await retention.apply(needBytes);
      },
      afterRoll: () => retention.kick(),
    });
  }

  /** Lowest seq still stored (equal to {@link SegmentLog.nextSeq} when the log is empty). */
  get firstSeq(): number {
    return this.#state.firstSeq;
  }

  /** Seq of the next record written. */
  get nextSeq(): number {
    return this.#state.nextSeq;
  }

  /** Every seq below is durable at the configured sync level (synced, for `'always'`) and readable. */
  get durableSeq(): number {
    return this.#state.durableSeq;
  }

  /** Appends one record; resolves with its seq once durable at the configured sync level. */
  append(body: AppendInput, options?: { headers?: Record<string, string>; signal?: AbortSignal }): Promise<number> {
    let record: PreparedRecord;
    try {
      if (options?.signal?.aborted) return Promise.reject(options.signal.reason);
      record = prepareRecord(body, options?.headers, this.#options.maxRecordBytes);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#writer.submit(record, options?.signal);
  }

  /** Appends records with contiguous seqs, written in one group; resolves with their seqs once durable. */
  async appendBatch(records: readonly AppendInput[], options?: { signal?: AbortSignal }): Promise<number[]> {
    if (!Array.isArray(records)) throw new InvalidOptionError('records', records, 'an array');
    if (options?.signal?.aborted) throw options.signal.reason;
    if (records.length === 0) return [];
    const prepared = records.map((r) => prepareRecord(r, undefined, this.#options.maxRecordBytes));
    const first = await this.#writer.submit(prepared, options?.signal);
    return prepared.map((_, i) => first + i);
  }

  /**
   * Up to `max` durable records from `fromSeq` on (from the first stored one when retention deleted
   * `fromSeq`), stopping at `maxBytes` of bodies (one record at least).
   */
  read(fromSeq: number, options?: { max?: number; maxBytes?: number }): Promise<LogRecord[]> {
    try {
      if (typeof fromSeq !== 'number' || !Number.isInteger(fromSeq) || fromSeq < 0)
        throw new InvalidOptionError('fromSeq', fromSeq, 'an integer >= 0');
      const max = options?.max ?? 1000;
      if (!Number.isInteger(max) || max < 1) throw new InvalidOptionError('max', max, 'an integer >= 1');
      const maxBytes = options?.maxBytes ?? Number.POSITIVE_INFINITY;
      if (typeof maxBytes !== 'number' || Number.isNaN(maxBytes) || maxBytes < 1)
        throw new InvalidOptionError('maxBytes', maxBytes, 'a number >= 1, or Infinity');
      if (this.#state.closed) throw new LogClosedError(this.dir);
      return readRecords(this.#state, fromSeq, max, maxBytes);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * An async iterator over the records from `from` (default: the first stored) on, which then waits for new
   * ones as they become durable (woken by the writer, no polling). Any number run at once, each with its
   * own position. Ends when the log closes or `signal` aborts.
   */
  reader(options?: { from?: number; signal?: AbortSignal; batch?: number }): AsyncIterableIterator<LogRecord> {
    const from = options?.from;
    if (from !== undefined && (!Number.isInteger(from) || from < 0))
      throw new InvalidOptionError('from', from, 'an integer >= 0');
    const batch = options?.batch ?? 4096;
    if (!Number.isInteger(batch) || batch < 1) throw new InvalidOptionError('batch', batch, 'an integer >= 1');
    return new TailIterator(this.#state, from, batch, options?.signal);
  }

  /** The named cursor (created at position 0 when new), the same object on each call. */
  cursor(name: string): Promise<Cursor> {
    if (this.#state.closed) return Promise.reject(new LogClosedError(this.dir));
    return this.#cursors.get(name);
  }

  /** Deletes the segments retention allows now (it also runs after cursor commits and segment rolls). */
  async applyRetention(): Promise<{ deletedSegments: number[] }> {
    return { deletedSegments: await this.#retention.apply() };
  }

  /**
   * Stops taking appends, waits for the queued ones to be durable (rejecting those a `whenFull: 'block'`
   * holds back), ends the readers, syncs, closes the files and releases the lock. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const state = this.#state;
    state.closed = true;
    state.notify();
    try {
      await this.#writer.close();
    } finally {
      await this.#cursors.idle();
      await this.#retention.idle();
      await state.readsIdle();
      // A closed log still referenced (by a cursor, a reader object) keeps no cached groups alive (and
      // gives its room in a shared budget back). Only a cache: its failure must not keep the files open.
      try {
        state.tail.clear();
      } catch (err) {
        state.logger.warn({ err, dir: state.options.dir }, 'log: dropping the tail cache failed');
      }
      for (const s of state.segments) await s.close();
      await this.#lock.release();
    }
  }

  /** {@link SegmentLog.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

export type { Logger };
