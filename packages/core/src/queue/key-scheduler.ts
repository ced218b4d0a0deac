import { Deque } from '../channel/deque.js';
import type { Waker } from '../channel/waker.js';
import { Backlog } from './backlog.js';
import { keySlot } from './key-slot.js';
import type { Reporter } from './reporter.js';
import type { ConsumerSlot, Parked, ProducerSlot } from './slots.js';

const NO_KEY_FAILURE: unique symbol = Symbol('q.no-key-failure');

/** A hold token is `epoch << ID_BITS | consumer id`: ids go up to MAX_LOOPS (10,000 < 2^14). */
const ID_BITS = 14;
const ID_MASK = (1 << ID_BITS) - 1;
/** Epochs wrap after 2^17 holds of one consumer; why that is harmless: see {@link KeyScheduler.take}. */
const EPOCH_MASK = (1 << (31 - ID_BITS)) - 1;

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
 * Keys are held by slot (see {@link keySlot}): an array read per message instead of a `Map` lookup,
 * which would cost more than the rest of the batch path. Keys sharing a slot are serialized together,
 * never reordered. A slot records the **hold token** of the consumer that took it last, and a
 * consumer's keys are all let go at once by retiring its token: letting go costs the same for one key
 * as for a batch of 256, and a batch need not list the keys it took.
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
  /** The hold token that last took each key slot (0: never taken); held while it is its consumer's current one. */
  readonly #owner: Int32Array;
  /** Each consumer's current hold token, by id; 0 while it holds nothing. */
  readonly #current = new Int32Array(ID_MASK + 1);
  /** Each consumer's last epoch, by id. */
  readonly #epochs = new Int32Array(ID_MASK + 1);
  /** Each holder's backlog, by consumer id. */
  readonly #backlogs: (Backlog<T> | undefined)[] = [];
  /** Scratch of {@link KeyScheduler.take}: where a batch changes destination, and to whom, in pairs. */
  #cuts = new Int32Array(512);
  readonly #waiters = new Deque<Waker>();
  readonly #userKeyOf: (message: T) => unknown;
  readonly #report: Reporter<T>;
  /** The last message whose `keyOf` threw, so a run boundary asking again does not report it twice. */
  #keyFailed: unknown = NO_KEY_FAILURE;

  constructor(keyOf: (message: T) => unknown, limit: number, slots: number, report: Reporter<T>) {
    this.#userKeyOf = keyOf;
    this.#limit = limit;
    this.#owner = new Int32Array(slots);
    this.#report = report;
  }

  /** `keyOf` as the channel calls it when cutting runs: a throwing `keyOf` means "no key", reported once. */
  readonly keyOf = (message: T): unknown => {
    try {
      return this.#userKeyOf(message);
    } catch (error) {
      this.#keyError(error, message);
      return undefined;
    }
  };

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
    const s = this.#slotOf(key, run[0] as T);
    if (s < 0) {
      await workThrough(slot, run, origin);
      return;
    }
    const holder = this.#holderOf(this.#owner[s] as number);
    if (holder !== 0) {
      this.#backlogOf(holder).push(run, 0, run.length, origin);
      this.#backlogged += run.length;
      return;
    }
    this.#owner[s] = this.#hold(slot.id);
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
    this.#current[slot.id] = 0;
  }

  /**
   * Splits a batch taken from the channel: returns what `slot` may run now (their keys are then held
   * by it) and parks the rest with the keys' holders.
   */
  take(slot: ConsumerSlot<T>, batch: readonly T[], origin: ProducerSlot<T>): readonly T[] {
    const id = slot.id;
    const token = this.#hold(id);
    if (this.#cuts.length < 2 * batch.length) this.#cuts = new Int32Array(2 * batch.length);
    let cuts: number;
    try {
      cuts = this.#cut(batch, id, token);
    } catch {
      // `keyOf` threw: the batch is cut again, each key asked through the reporting wrapper. Keys
      // taken by the first pass are this consumer's already, which the second one sees.
      cuts = this.#cutSafely(batch, id, token);
    }
    if (cuts === 0) return batch;
    const at = this.#cuts;
    let mine: T[] | undefined;
    for (let k = 0, from = 0; k <= 2 * cuts; k += 2) {
      const end = k < 2 * cuts ? (at[k] as number) : batch.length;
      mine = this.#flush(batch, from, end, k === 0 ? id : (at[k - 1] as number), id, mine, origin);
      from = end;
    }
    return mine ?? [];
  }

  /**
   * The destinations of `batch`, taken by consumer `id` holding with `token`: the first range goes to
   * `id`, and from `#cuts[2k]` on, messages go to `#cuts[2k + 1]` (`id` or a holder), for the `k`
   * below the count returned. Takes the free keys for `token` on the way.
   *
   * Per message this is the whole cost of keyed batches, so it is a loop of its own that reads keys
   * and typed arrays only, with no try: with a try in or around it, or the cutting and parking in it,
   * V8 kept its values on the stack and it cost up to twice as much.
   *
   * A slot whose token is not its consumer's current one is free. A token that comes round again (its
   * consumer's epoch wrapped) makes a free slot look held by that consumer: its messages then wait in
   * that consumer's backlog, in order, until it lets its keys go. Slower, never reordered.
   */
  #cut(batch: readonly T[], id: number, token: number): number {
    const cut = this.#cuts;
    const owner = this.#owner;
    const current = this.#current;
    const mask = owner.length - 1;
    const userKeyOf = this.#userKeyOf;
    let to = id;
    let c = 0;
    for (let i = 0; i < batch.length; i++) {
      const key = userKeyOf(batch[i] as T);
      let o = id;
      if (typeof key === 'number' && (key | 0) === key) {
        const s = key & mask;
        const t = owner[s] as number;
        if (t !== token) {
          // #holderOf, written out: `t` holds the slot while it is its consumer's current token.
          o = t & ID_MASK;
          if (t === 0 || current[o] !== t) {
            owner[s] = token;
            o = id;
          }
        }
      } else if (key !== undefined) o = this.#destOf(key, batch[i] as T, token, id);
      if (o !== to) {
        cut[c++] = i;
        cut[c++] = o;
        to = o;
      }
    }
    return c >> 1;
  }

  /** {@link KeyScheduler.#cut} for a batch where `keyOf` threw: a key that throws counts as none. */
  #cutSafely(batch: readonly T[], id: number, token: number): number {
    const cut = this.#cuts;
    let to = id;
    let c = 0;
    for (let i = 0; i < batch.length; i++) {
      const o = this.#destOf(this.keyOf(batch[i] as T), batch[i] as T, token, id);
      if (o !== to) {
        cut[c++] = i;
        cut[c++] = o;
        to = o;
      }
    }
    return c >> 1;
  }

  /** Where a message of `key` taken by consumer `id` (hold token `token`) goes: `id`, or its key's holder. */
  #destOf(key: unknown, message: T, token: number, id: number): number {
    const s = key === undefined ? -1 : this.#slotOf(key, message);
    if (s < 0 || this.#owner[s] === token) return id;
    const holder = this.#holderOf(this.#owner[s] as number);
    if (holder === 0) this.#owner[s] = token;
    return holder === 0 ? id : holder;
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
    // Parked as a range of the batch, not a copy: the holder copies it once, if it joins it to others.
    this.#backlogOf(dest).push(batch, from, to, origin);
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
    this.#current[slot.id] = 0;
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

  /** `id`'s current hold token, made when it holds nothing yet. */
  #hold(id: number): number {
    if (this.#current[id] !== 0) return this.#current[id] as number;
    const epoch = ((this.#epochs[id] as number) + 1) & EPOCH_MASK;
    this.#epochs[id] = epoch;
    const token = (epoch << ID_BITS) | id;
    this.#current[id] = token;
    return token;
  }

  /** The consumer holding a slot whose last token is `token`, or 0 when it is free. */
  #holderOf(token: number): number {
    const id = token & ID_MASK;
    return token !== 0 && this.#current[id] === token ? id : 0;
  }

  /** The slot of `key`, or -1 (no key: reported once) when it has no string form (`keySlot` threw). */
  #slotOf(key: unknown, message: T): number {
    try {
      return keySlot(key as string | number, this.#owner.length);
    } catch (error) {
      this.#keyError(error, message);
      return -1;
    }
  }

  /** Reports a key that could not be had, once per message (a run boundary may ask again). */
  #keyError(error: unknown, message: T): void {
    if (this.#keyFailed === message) return;
    this.#keyFailed = message;
    this.#report.error(error, 'key', [message]);
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
