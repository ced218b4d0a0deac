import { InvalidOptionError } from '@q/core';
import { promiseInto, whenAborted } from '@q/core/internal';
import { type AppendInput, headersBytes, RecordTooLargeError, type SegmentLog } from '@q/log';
import { type Accepted, recordOf } from './message.js';
import type { SequenceCounter } from './sequence.js';
import type { BacklogMeter } from './stats.js';

/** Bytes of one append group at most (a larger send goes alone): `@q/log`'s own group bound. */
const GROUP_BYTES = 8 * 1024 * 1024;
const noop = (): void => undefined;
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** One `send` (or `sendBatch`, or spill) waiting to be appended. */
class Entry {
  readonly items: readonly Accepted[];
  /** Seqs given in advance (a direct-first spill), else taken from the counter or the log. */
  readonly fixed: readonly number[] | undefined;
  readonly bytes: number;
  readonly signal: AbortSignal | undefined;
  resolve: (value: unknown) => void = noop;
  reject: (err: unknown) => void = noop;
  withdrawn = false;
  cancelAbort: () => void = noop;
  /** {@link LogWriter.appendOne}'s: what the send resolves with, made here rather than in a `then`. */
  done: ((seq: number) => unknown) | undefined;
  failed: ((err: unknown, a: Accepted, signal: AbortSignal | undefined) => Promise<unknown>) | undefined;

  constructor(items: readonly Accepted[], fixed: readonly number[] | undefined, signal: AbortSignal | undefined) {
    this.items = items;
    this.fixed = fixed;
    this.signal = signal;
    let bytes = 0;
    for (const a of items) bytes += a.bytes;
    this.bytes = bytes;
  }

  /** Settles with the seqs, `first` and the ones after it (or, made by `done`, the send's result). */
  succeed(first: number): void {
    if (this.done !== undefined) this.resolve(this.done(first));
    else this.resolve(Array.from(this.items, (_, i) => first + i));
  }

  /** Settles with `err` (or with what `failed` makes of it: a retry, or a rejection). */
  fail(err: unknown): void {
    if (this.failed === undefined) this.reject(err);
    else this.resolve(this.failed(err, this.items[0] as Accepted, this.signal));
  }
}

/**
 * Appends messages to the outbox's log, in groups of its own: the sends that arrive while a group is being
 * written go out together as one `appendBatch`, a turn of the event loop after the previous group
 * resolved. Handing each send to `append` separately made groups small: by the time a resolved send's
 * caller came back through the outbox's promise chain with its next send, the log had already taken
 * its next group, so most sends waited for an extra fsync.
 *
 * Each message's seq is taken when its group is built, in queue order, and a group is one `appendBatch`
 * stored in order, so the log's order is the seqs' order: the forwarder, reading in log order, never
 * pushes a lower id after a higher one.
 */
export class LogWriter {
  readonly #log: SegmentLog;
  readonly #counter: SequenceCounter | undefined;
  readonly #backlog: BacklogMeter;
  readonly #written: () => void;
  readonly #groupBytes: number;
  #queue: Entry[] = [];
  #flushing = false;
  #pending = 0;
  #idle: Array<() => void> = [];

  /**
   * `written` is called after each group is durable (the forwarder's wake-up). A group stays under a
   * quarter of `maxBytes`, so that sends which fit one by one are never refused together.
   */
  constructor(
    log: SegmentLog,
    counter: SequenceCounter | undefined,
    backlog: BacklogMeter,
    maxBytes: number,
    written: () => void,
  ) {
    this.#groupBytes = Math.min(GROUP_BYTES, maxBytes / 4);
    this.#log = log;
    this.#counter = counter;
    this.#backlog = backlog;
    this.#written = written;
  }

  /** Sends queued or being appended. */
  get pending(): number {
    return this.#pending;
  }

  /** Resolves when nothing is queued or being appended. */
  idle(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * Appends `items` (in one group: all or nothing) with seqs taken when the group is built; resolves with
   * their seqs once durable. Rejects as the log does (`LogFullError`: nothing stored), or with the
   * signal's reason when withdrawn while still queued.
   */
  append(items: readonly Accepted[], signal: AbortSignal | undefined): Promise<number[]> {
    return this.#enqueue(new Entry(items, undefined, signal)) as Promise<number[]>;
  }

  /**
   * {@link LogWriter.append} of one message for the common send, without a promise layer of its own:
   * resolves with `done(seq)` once durable; when it was not appended, follows `failed(err, a, signal)`
   * (which may try again or rethrow). Each layer delayed the caller's next send and cost a microtask per
   * message; `done` and `failed` are the caller's for every send, not closures made per send.
   */
  appendOne<T>(
    a: Accepted,
    signal: AbortSignal | undefined,
    done: (seq: number) => T,
    failed: (err: unknown, a: Accepted, signal: AbortSignal | undefined) => Promise<T>,
  ): Promise<T> {
    const entry = new Entry([a], undefined, signal);
    entry.done = done;
    entry.failed = failed;
    return this.#enqueue(entry) as Promise<T>;
  }

  /** Appends messages that already have their seqs (a direct-first spill), in one group. */
  async appendWithSeqs(items: readonly { readonly accepted: Accepted; readonly seq: number }[]): Promise<void> {
    await this.#enqueue(
      new Entry(
        items.map((i) => i.accepted),
        items.map((i) => i.seq),
        undefined,
      ),
    );
  }

  #enqueue(entry: Entry): Promise<unknown> {
    const done = promiseInto(entry);
    const signal = entry.signal;
    this.#pending++;
    this.#queue.push(entry);
    if (signal !== undefined)
      entry.cancelAbort = whenAborted(signal, () => {
        if (entry.withdrawn || !this.#queue.includes(entry)) return;
        entry.withdrawn = true;
        this.#settled(entry);
        entry.fail(signal.reason);
      });
    if (!this.#flushing) {
      this.#flushing = true;
      void this.#flush();
    }
    return done;
  }

  #settled(entry: Entry): void {
    entry.cancelAbort();
    if (--this.#pending === 0) for (const idle of this.#idle.splice(0)) idle();
  }

  /** Takes the next group off the queue: whole entries, up to the group bound (one entry at least). */
  #take(): Entry[] {
    const group: Entry[] = [];
    let bytes = 0;
    let i = 0;
    for (; i < this.#queue.length; i++) {
      const e = this.#queue[i] as Entry;
      if (e.withdrawn) continue;
      if (group.length > 0 && bytes + e.bytes > this.#groupBytes) break;
      group.push(e);
      bytes += e.bytes;
    }
    this.#queue = this.#queue.slice(i);
    return group;
  }

  async #flush(): Promise<void> {
    try {
      // A turn first, so that every send the last group's callers make in reply gets into this one.
      for (await nextTurn(); this.#queue.length > 0; await nextTurn()) await this.#appendGroup(this.#take());
    } finally {
      this.#flushing = false;
      // A send queued after the loop saw an empty queue, before `flushing` was cleared.
      if (this.#queue.length > 0) {
        this.#flushing = true;
        void this.#flush();
      }
    }
  }

  async #appendGroup(group: Entry[]): Promise<void> {
    if (group.length === 0) return;
    for (const e of group) e.cancelAbort();
    const counter = this.#counter;
    const records: AppendInput[] = [];
    /** Each entry's first seq (its others follow it): known here, or (-1) from the log once appended. */
    const firsts: number[] = [];
    try {
      let fresh = 0;
      for (const e of group) if (e.fixed === undefined) fresh += e.items.length;
      if (counter !== undefined && !counter.covers(fresh)) await counter.reserve(fresh);
      for (const e of group) {
        const items = e.items;
        const fixed = e.fixed;
        const first = fixed === undefined ? counter?.take(items.length) : undefined;
        if (first === undefined && fixed === undefined) {
          for (const a of items) records.push(recordOf(a, undefined));
          firsts.push(-1);
          continue;
        }
        for (let i = 0; i < items.length; i++)
          records.push(
            recordOf(items[i] as Accepted, fixed === undefined ? (first as number) + i : (fixed[i] as number)),
          );
        firsts.push(fixed === undefined ? (first as number) : (fixed[0] as number));
      }
      const logSeqs = await this.#log.appendBatch(records);
      if (counter === undefined) {
        // The log's seqs, one per record in group order: an entry's first is the seq of its first record.
        for (let i = 0, at = 0; i < group.length; at += (group[i] as Entry).items.length, i++)
          firsts[i] = logSeqs[at] as number;
      }
    } catch (err) {
      if (group.length > 1 && refusesRecord(err)) {
        // The log refused one record's shape before writing anything: only the send it came from fails.
        for (const e of group) await this.#appendGroup([e]);
        return;
      }
      for (const e of group) {
        this.#settled(e);
        e.fail(err);
      }
      return;
    }
    let bytes = 0;
    for (const r of records) bytes += appendedBytes(r);
    this.#backlog.appended(bytes);
    for (let i = 0; i < group.length; i++) {
      const e = group[i] as Entry;
      this.#settled(e);
      e.succeed(firsts[i] as number);
    }
    this.#written();
  }
}

/** Errors `@q/log` throws for one record's shape, before anything of the group is written. */
function refusesRecord(err: unknown): boolean {
  return err instanceof InvalidOptionError || err instanceof RecordTooLargeError;
}

/** A record's bytes as the backlog counts them: body and encoded headers. */
function appendedBytes(r: AppendInput): number {
  if (typeof r === 'string') return Buffer.byteLength(r);
  if (Buffer.isBuffer(r)) return r.length;
  return (typeof r.body === 'string' ? Buffer.byteLength(r.body) : r.body.length) + headersBytes(r.headers);
}
