import { whenAborted } from '@q/core/internal';
import type { LogState } from './log-state.js';
import { readRecords } from './read-path.js';
import type { LogRecord } from './record.js';

/** Sleeps until the log changes or the signal aborts (one listener per signal, shared by every reader). */
function changedOrAborted(state: LogState, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return state.changed();
  return new Promise<void>((resolve) => {
    const cancel = whenAborted(signal, resolve);
    void state.changed().then(() => {
      cancel();
      resolve();
    });
  });
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/**
 * Records from `from` on, then new ones as they become durable: the writer wakes it after each group, so it
 * never polls. Its position holds retention back from the segment it is in. Ends on close or abort.
 *
 * A hand-written iterator rather than an async generator: a batch read is handed out from an array with
 * an already-resolved promise per record, which is what lets a replay run at millions of records a second.
 */
export class TailIterator implements AsyncIterableIterator<LogRecord> {
  readonly #state: LogState;
  readonly #batch: number;
  readonly #signal: AbortSignal | undefined;
  readonly #slot: { position: number };
  #records: LogRecord[] = [];
  /** The next batch, read while the caller works through this one (so the file read overlaps it). */
  #ahead: { from: number; records: Promise<LogRecord[]> } | undefined;
  #next = 0;
  #finished = false;

  constructor(state: LogState, from: number | undefined, batch: number, signal: AbortSignal | undefined) {
    this.#state = state;
    this.#batch = batch;
    this.#signal = signal;
    this.#slot = { position: from ?? state.firstSeq };
    state.readers.add(this.#slot);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<LogRecord, undefined>> {
    if (this.#next < this.#records.length && !this.#stopped()) {
      const value = this.#records[this.#next++] as LogRecord;
      this.#slot.position = value.seq + 1;
      return Promise.resolve({ value, done: false });
    }
    return this.#fill();
  }

  /** Ends the iteration (a `break` out of `for await` calls it). */
  return(): Promise<IteratorResult<LogRecord, undefined>> {
    this.#finish();
    return Promise.resolve(DONE);
  }

  #stopped(): boolean {
    const state = this.#state;
    return this.#finished || state.closed || state.fatal !== undefined || this.#signal?.aborted === true;
  }

  async #fill(): Promise<IteratorResult<LogRecord, undefined>> {
    const state = this.#state;
    this.#records = [];
    this.#next = 0;
    while (!this.#stopped()) {
      if (this.#slot.position < state.durableSeq) {
        const ahead = this.#ahead;
        this.#ahead = undefined;
        let records: LogRecord[];
        try {
          records =
            ahead !== undefined && ahead.from === this.#slot.position
              ? await ahead.records
              : await readRecords(state, this.#slot.position, this.#batch, Number.POSITIVE_INFINITY);
        } catch (err) {
          // A rejected next() ends a `for await` without calling return(): unregistered here, or its
          // position would hold retention back for the rest of the log's life.
          this.#finish();
          throw err;
        }
        if (records.length > 0 && !this.#stopped()) {
          this.#records = records;
          this.#next = 1;
          const value = records[0] as LogRecord;
          this.#slot.position = value.seq + 1;
          this.#readAhead((records[records.length - 1] as LogRecord).seq + 1);
          return { value, done: false };
        }
        if (records.length > 0) break;
      }
      await changedOrAborted(state, this.#signal);
    }
    this.#finish();
    return DONE;
  }

  #readAhead(from: number): void {
    if (from >= this.#state.durableSeq || this.#stopped()) return;
    const records = readRecords(this.#state, from, this.#batch, Number.POSITIVE_INFINITY);
    // Its error (damage) is thrown by the next() that awaits it; a batch never awaited (the caller broke
    // off) must not be an unhandled rejection.
    records.catch(() => {});
    this.#ahead = { from, records };
  }

  #finish(): void {
    this.#ahead = undefined;
    this.#finished = true;
    this.#records = [];
    this.#state.readers.delete(this.#slot);
  }
}
