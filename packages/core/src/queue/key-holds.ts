import { KEY_SLOTS, keySlot } from './key-slot.js';
import type { Reporter } from './reporter.js';

const NO_KEY_FAILURE: unique symbol = Symbol('q.no-key-failure');
const SLOT_MASK = KEY_SLOTS - 1;

/** A hold token is `epoch << ID_BITS | consumer id`: ids go up to MAX_LOOPS (10,000 < 2^14). */
const ID_BITS = 14;
const ID_MASK = (1 << ID_BITS) - 1;
/** Epochs wrap after 2^17 holds of one consumer; why that is harmless: see {@link KeyHolds}. */
const EPOCH_MASK = (1 << (31 - ID_BITS)) - 1;

/**
 * Which consumer holds each key, and where each message of a batch goes: to the consumer taking it
 * (its key was free, or is its own already) or to the key's holder.
 *
 * Keys are held by slot (see {@link keySlot}): an array read per message instead of a `Map` lookup,
 * which would cost more than the rest of the batch path. Keys sharing a slot are serialized together,
 * never reordered. A slot records the **hold token** of the consumer that took it last, and a
 * consumer's keys are all let go at once by retiring its token ({@link KeyHolds.release}): letting go
 * costs the same for one key as for a batch of 256, and a batch need not list the keys it took.
 *
 * A slot whose token is not its consumer's current one is free. A token that comes round again (its
 * consumer's epoch wrapped) makes a free slot look held by that consumer: its messages then wait in
 * that consumer's backlog, in order, until it lets its keys go. Slower, never reordered.
 */
export class KeyHolds<T> {
  /**
   * What {@link KeyHolds.cut} found: the first range of the batch goes to the taker, and from
   * `cuts[2k]` on, messages go to `cuts[2k + 1]` (the taker or a holder).
   */
  cuts = new Int32Array(512);
  /** The hold token that last took each key slot (0: never taken). */
  readonly #owner = new Int32Array(KEY_SLOTS);
  /** Each consumer's current hold token, by id; 0 while it holds nothing. */
  readonly #current = new Int32Array(ID_MASK + 1);
  /** Each consumer's last epoch, by id. */
  readonly #epochs = new Int32Array(ID_MASK + 1);
  readonly #userKeyOf: (message: T) => unknown;
  readonly #report: Reporter<T>;
  /** The last message whose key could not be had, so a run boundary asking again does not report it twice. */
  #keyFailed: unknown = NO_KEY_FAILURE;

  constructor(keyOf: (message: T) => unknown, report: Reporter<T>) {
    this.#userKeyOf = keyOf;
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

  /** The slot of `key`, or -1 (no key: reported once) when it has no string form (`keySlot` threw). */
  slotOf(key: unknown, message: T): number {
    try {
      return keySlot(key as string | number, KEY_SLOTS);
    } catch (error) {
      this.#keyError(error, message);
      return -1;
    }
  }

  /** The consumer holding `slot`, or 0 when it is free. */
  holderOf(slot: number): number {
    const t = this.#owner[slot] as number;
    const id = t & ID_MASK;
    return t !== 0 && this.#current[id] === t ? id : 0;
  }

  /** `id` takes `slot` (which must be free). */
  take(slot: number, id: number): void {
    this.#owner[slot] = this.hold(id);
  }

  /** `id`'s current hold token, made when it holds nothing yet. */
  hold(id: number): number {
    if (this.#current[id] !== 0) return this.#current[id] as number;
    const epoch = ((this.#epochs[id] as number) + 1) & EPOCH_MASK;
    this.#epochs[id] = epoch;
    this.#current[id] = (epoch << ID_BITS) | id;
    return this.#current[id] as number;
  }

  /** `id` lets every key it holds go. */
  release(id: number): void {
    this.#current[id] = 0;
  }

  /**
   * Where each message of `batch`, taken by consumer `id`, goes: fills {@link KeyHolds.cuts} and
   * returns how many pairs it holds (0: all of it stays with `id`). Free keys become `id`'s.
   */
  cut(batch: readonly T[], id: number): number {
    const token = this.hold(id);
    if (this.cuts.length < 2 * batch.length) this.cuts = new Int32Array(2 * batch.length);
    try {
      return this.#cutFast(batch, id, token);
    } catch {
      // `keyOf` threw: the batch is cut again, each key asked through the reporting wrapper. Keys
      // taken by the first pass are `id`'s already, which the second one sees.
      let to = id;
      let c = 0;
      for (let i = 0; i < batch.length; i++) {
        const o = this.#to(this.keyOf(batch[i] as T), batch[i] as T, id, token);
        c = this.#note(c, i, o, to);
        to = o;
      }
      return c >> 1;
    }
  }

  /**
   * Per message this is the whole cost of keyed batches: no try in or around its loop (in V8 that kept
   * the loop's values on the stack, twice the cost), and four messages a turn (one a turn, V8 still
   * kept its counters on the stack across the `keyOf` call: a store and reload per message).
   */
  #cutFast(batch: readonly T[], id: number, token: number): number {
    const keyOf = this.#userKeyOf;
    // Read once, not per message: V8 does not hoist private fields' loads across the inlined keyOf.
    const owner = this.#owner;
    const current = this.#current;
    const n = batch.length;
    let to = id;
    let c = 0;
    let i = 0;
    for (; i + 3 < n; i += 4) {
      const k0 = keyOf(batch[i] as T);
      const k1 = keyOf(batch[i + 1] as T);
      const k2 = keyOf(batch[i + 2] as T);
      const k3 = keyOf(batch[i + 3] as T);
      const o0 = isSmallInt(k0)
        ? slotTo(k0 & SLOT_MASK, id, token, owner, current)
        : this.#to(k0, batch[i] as T, id, token);
      const o1 = isSmallInt(k1)
        ? slotTo(k1 & SLOT_MASK, id, token, owner, current)
        : this.#to(k1, batch[i + 1] as T, id, token);
      const o2 = isSmallInt(k2)
        ? slotTo(k2 & SLOT_MASK, id, token, owner, current)
        : this.#to(k2, batch[i + 2] as T, id, token);
      const o3 = isSmallInt(k3)
        ? slotTo(k3 & SLOT_MASK, id, token, owner, current)
        : this.#to(k3, batch[i + 3] as T, id, token);
      if (o0 === to && o1 === to && o2 === to && o3 === to) continue;
      c = this.#note(c, i, o0, to);
      c = this.#note(c, i + 1, o1, o0);
      c = this.#note(c, i + 2, o2, o1);
      c = this.#note(c, i + 3, o3, o2);
      to = o3;
    }
    for (; i < n; i++) {
      const o = this.#to(keyOf(batch[i] as T), batch[i] as T, id, token);
      c = this.#note(c, i, o, to);
      to = o;
    }
    return c >> 1;
  }

  /** Where a message with `key`, taken by `id` holding with `token`, goes; a free slot becomes `id`'s. */
  #to(key: unknown, message: T, id: number, token: number): number {
    const s = isSmallInt(key) ? key & SLOT_MASK : key === undefined ? -1 : this.slotOf(key, message);
    return s < 0 ? id : slotTo(s, id, token, this.#owner, this.#current);
  }

  /** Records that message `i` goes to `to` where the one before it went to `before`; returns the new count. */
  #note(c: number, i: number, to: number, before: number): number {
    if (to === before) return c;
    this.cuts[c] = i;
    this.cuts[c + 1] = to;
    return c + 2;
  }

  #keyError(error: unknown, message: T): void {
    if (this.#keyFailed === message) return;
    this.#keyFailed = message;
    this.#report.error(error, 'key', [message]);
  }
}

/** Whether `key` is an integer held as its own slot (see {@link keySlot}). */
function isSmallInt(key: unknown): key is number {
  return typeof key === 'number' && (key | 0) === key;
}

/**
 * Where a message in slot `s` goes when `id` takes it holding with `token`: to `id` (the slot is its own
 * or free, and then becomes its own) or to the consumer holding it. A slot holds while its token is its
 * consumer's current one. The arrays come as arguments so the scan keeps them in registers.
 */
function slotTo(s: number, id: number, token: number, owner: Int32Array, current: Int32Array): number {
  const t = owner[s] as number;
  if (t === token) return id;
  const holder = t & ID_MASK;
  if (t !== 0 && current[holder] === t) return holder;
  owner[s] = token;
  return id;
}
