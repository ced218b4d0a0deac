import { setImmediate as yieldTurn } from 'node:timers/promises';
import { backoffDelay, sleep } from '@q/core';
import type { Cursor, LogRecord, SegmentLog } from '@q/log';
import { type DeadLetterForm, type DeadLetters, refusedForGood } from './dead-letter.js';
import type { Reporter } from './events.js';
import { recordBytes, sinkMessageOfRecord } from './message.js';
import type { ResolvedOutboxOptions } from './options.js';
import { isPermanentGuarded } from './permanent.js';
import type { SinkLane } from './sink-batch.js';
import type { SinkHealth } from './sink-health.js';
import type { OutboxSinkMessage } from './sink-message.js';
import type { BacklogMeter, OutboxCounters } from './stats.js';

/** The forward cursor's name: the log keeps every segment it has not passed. */
export const FORWARD_CURSOR = 'forward';

/**
 * Least time between two cursor commits. Each commit is a temp file, two fsyncs, a rename: run back to
 * back after every batch they cost the forwarder more CPU than the batches (about 250 µs each, one per
 * ~70 messages at full speed) and contend with the log's own fdatasync for the disk.
 */
const COMMIT_INTERVAL_MS = 50;

/** What the forwarder works with, owned by the outbox. */
export interface ForwarderParts {
  readonly log: SegmentLog;
  readonly outboxId: string;
  readonly options: ResolvedOutboxOptions;
  readonly lane: SinkLane;
  readonly health: SinkHealth;
  readonly reporter: Reporter;
  readonly deadLetters: DeadLetters;
  readonly counters: OutboxCounters;
  readonly backlog: BacklogMeter;
  /** Records of batches a crash tore: passed over, never pushed. */
  readonly torn: { has(seq: number): boolean };
  /** Called whenever the forwarder has nothing left to forward (direct-first may go direct again). */
  readonly drained: () => void;
}

/**
 * Pushes the log to the sink from the `forward` cursor: reads a batch from the cursor's position (woken
 * by appends, never polling), pushes it with one batch in flight, commits the cursor once the sink
 * confirmed it, and goes on. A failed push is retried whole, with the same ids, after a back-off with full
 * jitter, before anything after it; a batch the sink refuses for good is bisected down to the refused
 * messages, which go to the dead-letter log. Retention deletes the segments the cursor has passed.
 */
export class Forwarder {
  readonly #p: ForwarderParts;
  readonly #cursor: Cursor;
  readonly #stop = new AbortController();
  #position: number;
  #oldest: number | undefined;
  #wake: (() => void) | undefined;
  #progress: Array<() => void> = [];
  #loop: Promise<void> | undefined;
  /** The position confirmed by the sink and not yet committed, if any. */
  #uncommitted: number | undefined;
  #commitTimer: NodeJS.Timeout | undefined;
  #lastCommit = 0;
  /** When the last push started (see `lingerMs`). */
  #lastPush = Number.NEGATIVE_INFINITY;

  private constructor(parts: ForwarderParts, cursor: Cursor) {
    this.#p = parts;
    this.#cursor = cursor;
    this.#position = cursor.position;
  }

  /** Opens the `forward` cursor and starts forwarding from it. */
  static async start(parts: ForwarderParts): Promise<Forwarder> {
    const f = new Forwarder(parts, await parts.log.cursor(FORWARD_CURSOR));
    parts.backlog.scan(parts.log, f.#position);
    // The loop catches what it can work around; anything else ends forwarding, reported, never unhandled.
    f.#loop = f
      .#run()
      .catch((err: unknown) =>
        parts.reporter.error(err, 'forward', 'outbox: the forwarder stopped; reopen the outbox to resume forwarding'),
      );
    return f;
  }

  /** The next log seq to forward. */
  get position(): number {
    return this.#position;
  }

  /** Records in the log not yet forwarded. */
  get backlog(): number {
    return Math.max(0, this.#p.log.nextSeq - this.#position);
  }

  /** Timestamp of the oldest record not yet forwarded (the first of the batch under way), if any. */
  get oldestTimestamp(): number | undefined {
    return this.backlog === 0 ? undefined : this.#oldest;
  }

  /** Tells the forwarder new records are durable. */
  wake(): void {
    const wake = this.#wake;
    if (wake === undefined) return;
    this.#wake = undefined;
    wake();
  }

  /** Resolves once everything in the log now is forwarded, or `signal` aborts (never rejects). */
  async caughtUp(signal: AbortSignal): Promise<void> {
    while (this.#position < this.#p.log.nextSeq && !signal.aborted && !this.#stop.signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          signal.removeEventListener('abort', done);
          resolve();
        };
        signal.addEventListener('abort', done, { once: true });
        this.#progress.push(done);
      });
    }
  }

  /** Stops: the batch under way is abandoned (it stays in the log), the loop ends. */
  async stop(): Promise<void> {
    this.#stop.abort();
    this.wake();
    this.#notifyProgress();
    await this.#loop;
    this.#commitNow();
  }

  #notifyProgress(): void {
    const waiters = this.#progress;
    this.#progress = [];
    for (const w of waiters) w();
  }

  async #run(): Promise<void> {
    const { log, options } = this.#p;
    const stop = this.#stop.signal;
    const read = (from: number): Promise<LogRecord[]> =>
      log.read(from, { max: options.batchMessages, maxBytes: options.batchBytes });
    // From a backlog, the next batch is read while this one is pushed.
    let ahead: { readonly from: number; readonly records: Promise<LogRecord[]> } | undefined;
    let failures = 0;
    while (!stop.aborted) {
      if (this.#position >= log.durableSeq) {
        this.#oldest = undefined;
        this.#notifyProgress();
        this.#p.drained();
        if (this.#position >= log.durableSeq && !stop.aborted)
          await new Promise<void>((resolve) => {
            this.#wake = resolve;
          });
        continue;
      }
      if (ahead === undefined) {
        if (await this.#linger()) continue;
        // After the senders: woken as a group became durable, a push started in that same turn would run
        // before the senders' next appends reached the log, holding back the next group's write by its
        // whole cost. One turn later that group is on its way to the disk and the push overlaps its sync.
        await yieldTurn();
      }
      let records: LogRecord[];
      try {
        records = await (ahead?.from === this.#position ? ahead.records : read(this.#position));
      } catch (err) {
        ahead = undefined;
        if (stop.aborted) break;
        this.#p.reporter.error(err, 'forward', 'outbox: reading the log failed; retrying');
        await sleep(backoffDelay(options.retry, ++failures), stop);
        continue;
      }
      const first = records[0];
      if (first === undefined) {
        // Not expected (a read below durableSeq returns records); never spin on it.
        this.#position = Math.max(this.#position, log.firstSeq);
        await sleep(backoffDelay(options.retry, ++failures), stop);
        continue;
      }
      this.#oldest = first.timestamp;
      const next = (records[records.length - 1] as LogRecord).seq + 1;
      const outboxId = this.#p.outboxId;
      const messages: OutboxSinkMessage[] = [];
      const torn = this.#p.torn;
      let bytes = 0;
      for (let i = 0; i < records.length; i++) {
        const r = records[i] as LogRecord;
        if (!torn.has(r.seq)) messages.push(sinkMessageOfRecord(r, outboxId));
        bytes += recordBytes(r);
      }
      ahead = undefined;
      // The next batch is read during this push only from a backlog (this batch was full): at the tail it
      // would hold just what is durable now, and go out small; read after the push, it holds all that
      // became durable meanwhile. Per push the sink costs more than per message.
      if (next < log.durableSeq && (records.length >= options.batchMessages || 2 * bytes >= options.batchBytes)) {
        ahead = { from: next, records: read(next) };
        // Its failure is met (and reported) by the loop that awaits it; one never awaited is no concern.
        ahead.records.catch(() => undefined);
      }
      let delivered: boolean;
      this.#lastPush = performance.now();
      try {
        delivered = await this.#deliver(messages);
      } catch (err) {
        // Not expected (user code is guarded); the loop must outlive it: the batch is pushed again.
        if (stop.aborted) break;
        this.#p.reporter.error(err, 'forward', 'outbox: forwarding a batch failed; retrying');
        await sleep(backoffDelay(options.retry, ++failures), stop);
        continue;
      }
      if (!delivered) break;
      this.#commit(next);
      failures = 0;
      this.#p.backlog.forwarded(bytes);
      this.#position = next;
      this.#notifyProgress();
    }
  }

  /**
   * Waits out `lingerMs` since the last push when less than a full batch is waiting, so that a busy log
   * is pushed in batches of hundreds rather than one group commit's worth each (a push costs about as
   * much CPU as a few hundred small messages). True when it waited: the caller looks at the log again.
   */
  async #linger(): Promise<boolean> {
    const { options, log } = this.#p;
    const wait = this.#lastPush + options.lingerMs - performance.now();
    if (wait <= 0 || log.durableSeq - this.#position >= options.batchMessages) return false;
    await sleep(wait, this.#stop.signal);
    return true;
  }

  /**
   * Commits the cursor to `next` (durable: retention may then delete what it passed) without waiting:
   * the next batch is pushed meanwhile, as the commit's two fsyncs cost as much as a push. Commits are
   * at least {@link COMMIT_INTERVAL_MS} apart: the batches confirmed meanwhile share the next one. A
   * failed commit is reported; the next commit covers it (until then a restart replays a little more:
   * same ids). `stop()` commits what is left, and `close()` waits for it (the log closes only once its
   * cursors are written).
   */
  #commit(next: number): void {
    this.#uncommitted = next;
    if (this.#commitTimer !== undefined) return;
    const wait = this.#lastCommit + COMMIT_INTERVAL_MS - performance.now();
    if (wait <= 0) this.#commitNow();
    else {
      this.#commitTimer = setTimeout(() => this.#commitNow(), wait);
      this.#commitTimer.unref();
    }
  }

  #commitNow(): void {
    clearTimeout(this.#commitTimer);
    this.#commitTimer = undefined;
    const next = this.#uncommitted;
    if (next === undefined) return;
    this.#uncommitted = undefined;
    this.#lastCommit = performance.now();
    this.#cursor.commit(next).catch((err: unknown) => {
      if (!this.#stop.signal.aborted)
        this.#p.reporter.error(
          err,
          'forward',
          'outbox: committing the forward cursor failed; the next batch commits again',
        );
    });
  }

  /**
   * Pushes `items` until the sink confirmed each or it was dead-lettered; false when stopped first. A
   * whole-batch refusal is bisected (halves in order), so everything before a refused message is written
   * before it is skipped and nothing after it waits for good.
   */
  async #deliver(items: readonly OutboxSinkMessage[]): Promise<boolean> {
    const { lane, health, options, counters } = this.#p;
    const stop = this.#stop.signal;
    let pending = items;
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (stop.aborted) return false;
      const failure = await lane.push(pending, stop);
      if (failure === undefined) {
        health.succeeded();
        counters.forwarded += pending.length;
        return true;
      }
      if (stop.aborted) return false;
      if (failure.failed === undefined) {
        if (!isPermanentGuarded(options.isPermanent, failure.error, this.#p.reporter)) {
          health.failed(failure.error);
          await sleep(backoffDelay(options.retry, attempt), stop);
          continue;
        }
        if (pending.length === 1) return this.#deadLetter(pending[0] as OutboxSinkMessage, failure.error, attempt);
        const mid = pending.length >>> 1;
        return (await this.#deliver(pending.slice(0, mid))) && this.#deliver(pending.slice(mid));
      }
      // Per-message confirms: what was confirmed stays done, refusals go to the dead-letter log, the rest is retried.
      counters.forwarded += pending.length - failure.failed.length;
      const retry: OutboxSinkMessage[] = [];
      let down: unknown;
      for (const { index, error } of failure.failed) {
        const item = pending[index] as OutboxSinkMessage;
        if (isPermanentGuarded(options.isPermanent, error, this.#p.reporter)) {
          if (!(await this.#deadLetter(item, error, attempt))) return false;
        } else {
          retry.push(item);
          down ??= error;
        }
      }
      pending = retry;
      if (retry.length === 0) continue;
      health.failed(down);
      await sleep(backoffDelay(options.retry, attempt), stop);
    }
    return true;
  }

  /** Stores a refused message in the dead-letter log, retrying until it is safe; false when stopped first. */
  async #deadLetter(message: OutboxSinkMessage, cause: unknown, attempts: number): Promise<boolean> {
    const { deadLetters, reporter, counters, options } = this.#p;
    const id = message.headers['q-outbox-id'] as string;
    for (let failures = 1; !this.#stop.signal.aborted; failures++) {
      let stored: DeadLetterForm;
      try {
        stored = await deadLetters.add(message, { cause, attempts });
      } catch (err) {
        if (refusedForGood(err)) {
          // Not expected (even a dead letter without its message fits); retrying could never help, and
          // must not stop everything after it. Loud: the message's body is in no log once it is passed.
          reporter.error(
            err,
            'dead-letter',
            `outbox: the refused message ${id} cannot be stored as a dead letter; skipped`,
          );
          return true;
        }
        reporter.error(err, 'dead-letter', 'outbox: writing a dead letter failed; retrying');
        await sleep(backoffDelay(options.retry, failures), this.#stop.signal);
        continue;
      }
      if (stored.form === 'truncated')
        reporter.error(
          stored.error,
          'dead-letter',
          `outbox: the refused message ${id} is too large for the dead-letter log: stored without its body, headers and key`,
        );
      counters.deadLettered++;
      reporter.logger.warn({ id, err: cause }, 'outbox: the sink refused a message; it is in the dead-letter log');
      reporter.emit('dead-letter', { id, cause });
      return true;
    }
    return false;
  }
}
