import { backoffDelay, type RetryPolicy, sleep } from '@q/core';
import type { Cursor, LogRecord, SegmentLog } from '@q/log';
import type { DeliveryEngine } from '../delivery/delivery-engine.js';
import { DeliveryClosedError, InvalidItemError, WithdrawnError } from '../delivery/errors.js';
import type { DeliveryItem, DeliveryResult } from '../delivery/types.js';
import { WorkCount } from '../delivery/work-count.js';
import { HeldItems } from './held-items.js';
import { KeyMoves } from './key-moves.js';
import { KeyedParking } from './keyed-parking.js';
import type { KeyedRouter } from './keyed-router.js';
import { parkRound } from './park-round.js';
import { ParkSchedule } from './park-schedule.js';
import type { ParkedKeys } from './parked-keys.js';
import { RunCommits } from './run-commits.js';
import { type ParkEntry, type ParkedItem, RunItems } from './run-items.js';
import { Unfinished } from './unfinished.js';

/** Records per log read: small enough that a stop or back-pressure leaves little read ahead. */
const READ_BATCH = 512;

/**
 * Records handed over between two turns of the event loop: a reader hands out a batch through resolved
 * promises, and handing thousands at once would keep the engine's sockets and timers waiting (its attempt
 * timeouts would fire before answers already received are read).
 */
const HAND_PER_TURN = 128;

/** Back-off after a failed log read or an unexpected `deliver()` rejection (neither is expected). */
const TROUBLE_BACKOFF: RetryPolicy = {
  attempts: Infinity,
  minDelayMs: 100,
  maxDelayMs: 5_000,
  factor: 2,
  jitter: true,
};

export type { ParkedItem } from './run-items.js';

/** What a {@link DeliveryRun} works with. */
export interface DeliveryRunParts {
  readonly log: SegmentLog;
  /** Committed up to the lowest unfinished record; never moved back. */
  readonly cursor: Cursor;
  readonly engine: DeliveryEngine;
  /** The first seq to read. */
  readonly from: number;
  /** The last seq to read (inclusive); undefined: tail the log until stopped. */
  readonly to?: number | undefined;
  readonly toItem: (record: LogRecord) => DeliveryItem;
  readonly maxUnfinished: number;
  readonly commitIntervalMs: number;
  /** Each item's end (delivered or dead-lettered). */
  readonly finished: (item: DeliveryItem, result: DeliveryResult) => void;
  /** Dead-letters an item the engine refused as invalid (it could never be sent). */
  readonly refuse: (item: DeliveryItem, error: InvalidItemError) => Promise<DeliveryResult>;
  /** Trouble worked around (a failed read or commit, an unexpected rejection): reported, never thrown. */
  readonly error: (error: unknown, message: string) => void;
  /** Called before each item is handed to the engine. */
  readonly handing?: ((item: DeliveryItem) => void) | undefined;
  /**
   * Stores withdrawn items durably elsewhere (all or none; rejects when not stored). When given, a window
   * three quarters full withdraws the lowest records that only wait for their retry and parks them, so the
   * cursor may pass them.
   */
  readonly park?: ((batch: readonly ParkedItem[]) => Promise<unknown>) | undefined;
  /** Whether an item could be parked at all (tried before it is withdrawn); every item when not given. */
  readonly parkable?: ((item: DeliveryItem) => boolean) | undefined;
  /**
   * With `park`: keyed records are parked too, a key's whole line at once. The live run parks every later
   * record of a key listed here (behind its parked ones) rather than handing it to the engine; the park run
   * (`moveKeys`) moves a key to the end of the park log, and its later records behind it.
   */
  readonly parkedKeys?: ParkedKeys | undefined;
  /** This is the park run: keyed records are moved within the park log (see `KeyMoves`). */
  readonly moveKeys?: boolean | undefined;
  /**
   * A replay's: before a keyed record is handed over, a promise that resolves once its key is no longer
   * parked (undefined: it is not), so a replayed record never overtakes parked ones of its key.
   */
  readonly keyParked?: ((key: string, signal: AbortSignal) => Promise<void> | undefined) | undefined;
  /**
   * A record is not handed before this instant (ms since the epoch): held meanwhile (unfinished, in the
   * window), each at its own time, so a record due later never holds back one read after it.
   */
  readonly holdUntil?: ((record: LogRecord) => number | undefined) | undefined;
}

/**
 * Reads the log from `from` (to `to`, or tailing it), hands each record to the engine, and commits the
 * cursor up to the lowest unfinished record: never past one that is neither delivered nor dead-lettered, so
 * a restart from the cursor re-sends what was unfinished (same ids) and nothing finished below it. At most
 * `maxUnfinished` records are out at once: reading waits for room. Commits are `commitIntervalMs` apart,
 * plus {@link DeliveryRun.commitNow} at the end.
 */
export class DeliveryRun {
  readonly #p: DeliveryRunParts;
  readonly #unfinished: Unfinished;
  readonly #stop = new AbortController();
  /** `deliver()` calls (and retry timers) not answered yet: the run is drained when none is left. */
  #pending = 0;
  /** Records whose `deliver()` rejected because the engine closed: unfinished for good in this run. */
  #stranded = 0;
  #reading: Promise<void> | undefined;
  #readEnded = false;
  /** Whether reading got through `to`. */
  #complete = false;
  #room: (() => void) | undefined;
  #drainWaiters: Array<() => void> = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #commits: RunCommits;
  /** The items in the engine by seq, in hand-over order. */
  readonly #items = new RunItems(() => {
    this.#pending--;
    this.#checkDrained();
  });
  /** Park appends and refused records' dead letters under way. */
  readonly #outside = new WorkCount();
  /** Records read before their `holdUntil`: unfinished, in no `deliver()` until their time. */
  readonly #held = new HeldItems((item, seq) => this.#send(item, seq, 1));
  /** When park rounds start (only when parking). */
  readonly #parks: ParkSchedule | undefined;
  /** Parking of keyed records (with `parkedKeys`). */
  readonly #keyed: KeyedRouter | undefined;

  constructor(parts: DeliveryRunParts) {
    this.#p = parts;
    const park = parts.park;
    const keys = parts.parkedKeys;
    if (park !== undefined && keys !== undefined) {
      this.#keyed = parts.moveKeys
        ? new KeyMoves(keys, () => this.#unfinished.next)
        : new KeyedParking(keys, parts.parkable ?? (() => true), (entries) => this.#sendBack(entries));
    }
    if (park !== undefined) {
      const keyed = this.#keyed;
      this.#parks = new ParkSchedule(
        parts.maxUnfinished,
        () => this.#unfinished.size,
        (full) =>
          parkRound({
            engine: parts.engine,
            items: this.#items,
            held: this.#held,
            maxUnfinished: parts.maxUnfinished,
            full,
            parkable: parts.parkable,
            park,
            keyed: this.#keyed,
            outside: this.#outside,
            error: parts.error,
            answered: (n) => {
              this.#pending -= n;
              this.#checkDrained();
            },
            settle: (seq) => this.#settle(seq),
            sendBack: (entries) => this.#sendBack(entries),
          }),
        (err) => parts.error(err, 'http: parking records failed'),
        () => keyed !== undefined && keyed.size > 0,
      );
    }
    this.#unfinished = new Unfinished(parts.from);
    this.#commits = new RunCommits(parts.cursor, parts.commitIntervalMs, () => this.#unfinished.lowest(), parts.error);
  }

  /** Starts reading (once). */
  start(): void {
    this.#parks?.start();
    this.#reading ??= this.#read().finally(() => {
      this.#readEnded = true;
      this.#checkDrained();
    });
  }

  /** Resolves when reading ended (through `to`, stopped, or the log closed). */
  get reading(): Promise<void> {
    return this.#reading ?? Promise.resolve();
  }

  /** Whether every record through `to` was read (false for a tailing run). */
  get complete(): boolean {
    return this.#complete;
  }

  /** Records handed out and not finished. */
  get unfinished(): number {
    return this.#unfinished.size;
  }

  /** Whether the run was stopped (by its owner, or by itself when the engine closed under it). */
  get stopped(): boolean {
    return this.#stop.signal.aborted;
  }

  /** Records the engine gave back unfinished because it closed. */
  get stranded(): number {
    return this.#stranded;
  }

  /** The next seq to read. */
  get next(): number {
    return this.#unfinished.next;
  }

  /** The lowest unfinished seq, or the next to read: what the cursor may be committed to. */
  get lowest(): number {
    return this.#unfinished.lowest();
  }

  /** Resolves once no park append and no refused record's dead letter is under way. */
  outsideDone(): Promise<void> {
    return this.#outside.none();
  }

  /** The items in the engine: what a close on a shared engine takes back (see `settleOnShared`). */
  get items(): RunItems {
    return this.#items;
  }

  /** Stops reading; what was handed to the engine runs on (see {@link DeliveryRun.drained}). */
  stop(): void {
    if (this.#stop.signal.aborted) return;
    this.#stop.abort();
    this.#parks?.stop();
    // Held records stay unfinished: the cursor stays below them, the next start reads them again.
    this.#held.clear();
    this.#commits.stop();
    // Items waiting to be handed again after an unexpected rejection stay unfinished (never committed past).
    for (const t of this.#timers) {
      clearTimeout(t);
      this.#pending--;
    }
    this.#timers.clear();
    this.#room?.();
    this.#checkDrained();
  }

  /** Resolves once reading ended and no `deliver()` is unanswered. */
  drained(): Promise<void> {
    if (this.#isDrained()) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Commits the cursor to the lowest unfinished record now (when it moved); rejects when the write fails. */
  commitNow(): Promise<void> {
    return this.#commits.now();
  }

  async #read(): Promise<void> {
    const { log, to } = this.#p;
    const signal = this.#stop.signal;
    let failures = 0;
    let handed = 0;
    while (!signal.aborted && !this.#complete) {
      try {
        const reader = log.reader({ from: this.#unfinished.next, signal, batch: READ_BATCH });
        for await (const record of reader) {
          if (to !== undefined && record.seq > to) {
            this.#complete = true;
            break;
          }
          this.#parks?.kick();
          while (this.#unfinished.size >= this.#p.maxUnfinished && !signal.aborted) {
            this.#parks?.kick();
            await new Promise<void>((resolve) => {
              this.#room = resolve;
            });
          }
          if (++handed % HAND_PER_TURN === 0) await new Promise<void>((resolve) => setImmediate(resolve));
          if (signal.aborted) break;
          const item = this.#p.toItem(record);
          const parked = item.key === undefined ? undefined : this.#p.keyParked?.(item.key, signal);
          if (parked !== undefined) await parked;
          if (signal.aborted) break;
          this.#hand(record, item);
          failures = 0;
          if (record.seq === to) {
            this.#complete = true;
            break;
          }
        }
        // The reader ended by itself: stopped, or the log closed (nothing more will come).
        return;
      } catch (err) {
        if (signal.aborted) return;
        this.#p.error(err, 'http: reading the log failed; retrying');
        await sleep(backoffDelay(TROUBLE_BACKOFF, ++failures), signal);
      }
    }
  }

  /** Hands records taken for the park back to the engine, with their attempts and retry time. */
  #sendBack(entries: readonly ParkEntry[]): void {
    if (this.#stop.signal.aborted) return;
    for (const { item, withdrawn: w, seq } of entries)
      this.#send({ ...item, attempts: w.attempts, notBefore: w.nextAttemptAt }, seq, 1);
  }

  #hand(record: LogRecord, item: DeliveryItem): void {
    // Handed out already (a reader restarted after a failed read): never twice.
    if (!this.#unfinished.add(record.seq)) return;
    if (this.#keyed?.route(item, record) === true) {
      this.#parks?.kick();
      return;
    }
    const due = this.#p.holdUntil?.(record);
    // Behind held records of its key, even when due: they go first.
    if (due !== undefined && (due > Date.now() || (item.key !== undefined && this.#held.holds(item.key))))
      this.#held.add(item, record.seq, due);
    else this.#send(item, record.seq, 1);
  }

  #send(item: DeliveryItem, seq: number, tries: number): void {
    this.#pending++;
    this.#items.set(seq, item);
    this.#p.handing?.(item);
    let delivery: Promise<DeliveryResult>;
    try {
      delivery = this.#p.engine.deliver(item);
    } catch (err) {
      delivery = Promise.reject(err);
    }
    delivery.then(
      (result) => this.#finish(item, seq, result),
      (err: unknown) => this.#rejected(item, seq, tries, err),
    );
  }

  #rejected(item: DeliveryItem, seq: number, tries: number, err: unknown): void {
    // Taken back for the park: the park round owns it now.
    if (err instanceof WithdrawnError) return;
    if (err instanceof InvalidItemError) {
      // It could never be sent as it is: kept in the dead letters rather than blocking the cursor for good.
      this.#outside.track(this.#p.refuse(item, err)).then(
        (result) => this.#finish(item, seq, result),
        (e: unknown) => this.#rejected(item, seq, tries, e),
      );
      return;
    }
    if (err instanceof DeliveryClosedError || this.#stop.signal.aborted) {
      // Not finished: the cursor stays below it, so the next run sends it again.
      if (err instanceof DeliveryClosedError) {
        this.#stranded++;
        // A shared engine closed under a running deliverer: reading on would only strand more records.
        if (!this.#stop.signal.aborted) {
          this.#p.error(
            err,
            'http: the delivery engine was closed; delivery stopped (restart the deliverer to resume)',
          );
          this.stop();
        }
      }
      this.#pending--;
      this.#checkDrained();
      return;
    }
    this.#p.error(err, `http: delivering ${item.id} failed unexpectedly; handing it over again`);
    const timer = setTimeout(
      () => {
        this.#timers.delete(timer);
        this.#pending--;
        this.#send(item, seq, tries + 1);
      },
      backoffDelay(TROUBLE_BACKOFF, tries),
    );
    this.#timers.add(timer);
  }

  #finish(item: DeliveryItem, seq: number, result: DeliveryResult): void {
    this.#pending--;
    if (this.#settle(seq)) this.#p.finished(item, result);
    this.#checkDrained();
  }

  /** Marks `seq` finished in the window (commits may pass it); false when it was not unfinished. */
  #settle(seq: number): boolean {
    this.#items.delete(seq);
    const lowest = this.#unfinished.lowest();
    const settled = this.#unfinished.finish(seq);
    if (settled && this.#unfinished.lowest() !== lowest) this.#commits.schedule();
    if (this.#unfinished.size < this.#p.maxUnfinished) {
      const room = this.#room;
      this.#room = undefined;
      room?.();
    }
    return settled;
  }

  #isDrained(): boolean {
    return this.#readEnded && this.#pending === 0;
  }

  #checkDrained(): void {
    if (!this.#isDrained()) return;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w();
  }
}
