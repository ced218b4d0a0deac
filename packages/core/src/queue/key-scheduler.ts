import { Deque } from '../channel/deque.js';
import type { Waker } from '../channel/waker.js';
import { Backlog } from './backlog.js';
import { KeyHolds } from './key-holds.js';
import type { Reporter } from './reporter.js';
import type { ConsumerSlot, Parked, ProducerSlot } from './slots.js';

/** Works through a run held by `slot`; false when the stop deadline took the rest. */
export type WorkThrough<T> = (slot: ConsumerSlot<T>, run: readonly T[], origin: ProducerSlot<T>) => Promise<boolean>;

/**
 * Ordering by key: one consumer at a time holds a key; messages of that key taken by another
 * consumer are parked in the holder's backlog, in channel order, and the holder works through its
 * backlog before it lets its keys go.
 *
 * - Consumers with `consume` take **runs** (consecutive messages of one key) and hold one key at a
 *   time: {@link KeyScheduler.run}.
 * - Consumers with `consumeBatch` take **batches**: {@link KeyScheduler.take} keeps the messages whose
 *   keys are free or already theirs for one call (holding those keys) and parks the others with
 *   their holders; {@link KeyScheduler.next} gives the holder its backlog, a batch at a time, and
 *   lets its keys go once the backlog is empty. A batch holds all its keys for its call (and its
 *   retries): one slow message holds back the keys that share its batch, not the others.
 *
 * Which consumer holds which key, and where each message of a batch goes, is {@link KeyHolds}'s.
 *
 * Back-pressure starts when the backlogs together hold `limit` messages or more: consumers then
 * stop taking from the channel until holders picked parked messages up. So memory stays bounded
 * (the channel's capacity, what each consumer holds, and fewer than `limit` + one batch in backlogs),
 * and a busy key holds back only its holder's backlog, not other consumers.
 */
export class KeyScheduler<T> {
  /** Messages taken by keyed consumers and not started yet: backlogs plus the rest of held runs. */
  parked = 0;
  /** Messages in backlogs: what the bound counts. */
  #backlogged = 0;
  readonly #limit: number;
  /** Each holder's backlog, by consumer id. */
  readonly #backlogs: (Backlog<T> | undefined)[] = [];
  readonly #waiters = new Deque<Waker>();
  readonly #holds: KeyHolds<T>;
  /** `keyOf` as the channel calls it when cutting runs: a throwing `keyOf` means "no key", reported once. */
  readonly keyOf: (message: T) => unknown;

  constructor(keyOf: (message: T) => unknown, limit: number, report: Reporter<T>) {
    this.#limit = limit;
    this.#holds = new KeyHolds(keyOf, report);
    this.keyOf = this.#holds.keyOf;
  }

  /** Whether the backlogs are full: a consumer must {@link KeyScheduler.wait} before taking more. */
  get full(): boolean {
    return this.#backlogged >= this.#limit;
  }

  /** Sleeps until parked messages were picked up (or the stop deadline passed). */
  wait(waker: Waker): Promise<void> {
    const sleep = waker.arm();
    this.#waiters.push(waker);
    return sleep;
  }

  /**
   * Runs a run of same-key messages (one message when the key is `undefined`), then its backlog;
   * parks the run with the key's holder if another consumer holds it.
   */
  async run(
    slot: ConsumerSlot<T>,
    run: readonly T[],
    key: unknown,
    origin: ProducerSlot<T>,
    workThrough: WorkThrough<T>,
  ): Promise<void> {
    this.parked += run.length;
    if (key === undefined) {
      await workThrough(slot, run, origin);
      return;
    }
    const s = this.#holds.slotOf(key, run[0] as T);
    if (s < 0) {
      await workThrough(slot, run, origin);
      return;
    }
    const holder = this.#holds.holderOf(s);
    if (holder !== 0) {
      this.#backlogOf(holder).push(run, 0, run.length, origin);
      this.#backlogged += run.length;
      return;
    }
    this.#holds.take(s, slot.id);
    for (let next = run, from = origin; ; ) {
      // Abandoned by the stop deadline, which also nacked the backlogs.
      if (!(await workThrough(slot, next, from))) return;
      const backlog = this.#backlogs[slot.id];
      if (backlog === undefined || backlog.empty) break;
      // One parked range at a time: a run is worked through a message at a time, joining saves nothing.
      from = backlog.origin;
      next = backlog.shift(1);
      this.#picked(next.length);
    }
    this.#holds.release(slot.id);
  }

  /**
   * Splits a batch taken from the channel: returns what `slot` may run now (their keys are then held
   * by it) and parks the rest with the keys' holders.
   */
  take(slot: ConsumerSlot<T>, batch: readonly T[], origin: ProducerSlot<T>): readonly T[] {
    const id = slot.id;
    const cuts = this.#holds.cut(batch, id);
    if (cuts === 0) return batch;
    const at = this.#holds.cuts;
    let mine: T[] | undefined;
    for (let k = 0, from = 0; k <= 2 * cuts; k += 2) {
      const end = k < 2 * cuts ? (at[k] as number) : batch.length;
      mine = this.#flush(batch, from, end, k === 0 ? id : (at[k - 1] as number), id, mine, origin);
      from = end;
    }
    return mine ?? [];
  }

  /**
   * Hands `batch[from, to)` to its destination `dest`: `mine` (what `self` runs now, `undefined`
   * while that is a prefix of the batch not yet copied) or the holder's backlog. Returns `mine`.
   */
  #flush(
    batch: readonly T[],
    from: number,
    to: number,
    dest: number,
    self: number,
    mine: T[] | undefined,
    origin: ProducerSlot<T>,
  ): T[] | undefined {
    if (from === to) return mine;
    if (dest === self) {
      if (mine === undefined) return from === 0 ? undefined : batch.slice(0, to);
      if (mine.length === 0) return batch.slice(from, to);
      for (let k = from; k < to; k++) mine.push(batch[k] as T);
      return mine;
    }
    // The first range that cannot go: what went before it is `self`'s prefix.
    mine ??= batch.slice(0, from);
    // Parked as a range of the batch, not a copy (the holder copies it once, if it joins it to others),
    // unless it is less than half the batch: a range keeps its whole batch alive until its holder runs it,
    // the messages consumed already included, so what is kept stays within twice what is parked.
    const backlog = this.#backlogOf(dest);
    if ((to - from) * 2 < batch.length) backlog.pushCopy(batch, from, to, origin, batch.length);
    else backlog.push(batch, from, to, origin);
    this.parked += to - from;
    this.#backlogged += to - from;
    return mine;
  }

  /**
   * After a call of `slot`'s: the next batch of its backlog, or `undefined` once the backlog is empty
   * (its keys are then let go).
   */
  next(slot: ConsumerSlot<T>, batchSize: number): Parked<T> | undefined {
    const backlog = this.#backlogs[slot.id];
    if (backlog !== undefined && !backlog.empty) {
      // Ranges parked one after another (by several takes) go in one call, up to `batchSize` and
      // from one producer (settlement is per producer): a call costs more than copying its messages.
      const origin = backlog.origin;
      const run = backlog.shift(batchSize);
      this.parked -= run.length;
      this.#picked(run.length);
      return { run, origin };
    }
    this.#holds.release(slot.id);
    return undefined;
  }

  /** The stop deadline: hands every parked message to `nack` and wakes every waiter. */
  abandon(nack: (origin: ProducerSlot<T>, message: T) => void): void {
    for (const backlog of this.#backlogs) {
      backlog?.drain((origin, message) => {
        this.#backlogged--;
        this.parked--;
        nack(origin, message);
      });
    }
    this.#wakeWaiters();
  }

  #backlogOf(holder: number): Backlog<T> {
    return (this.#backlogs[holder] ??= new Backlog<T>());
  }

  /** `n` parked messages left a backlog for their holder's hands. */
  #picked(n: number): void {
    this.#backlogged -= n;
    if (this.#waiters.length !== 0 && this.#backlogged < this.#limit) this.#wakeWaiters();
  }

  /**
   * Every waiter re-checks the bound: waking only the first could hit a stale entry (a consumer woken
   * meanwhile by a broadcast and now asleep on the channel) and leave a real one asleep.
   */
  #wakeWaiters(): void {
    for (let w = this.#waiters.shift(); w !== undefined; w = this.#waiters.shift()) w.wake();
  }
}
