import type { LogRecord } from '@q/log';
import type { DeliveryItem } from '../delivery/types.js';
import type { KeyedRouter } from './keyed-router.js';
import type { ParkedKeys } from './parked-keys.js';
import type { ParkEntry } from './run-items.js';

/**
 * The live run's side of parking keyed records. A key's line is withdrawn whole (its head waiting for its
 * retry, and every record queued behind it); from then on the key is in {@link ParkedKeys}, and each record
 * of it the run reads is queued here for the next park round instead of going to the engine, so the park
 * log holds the key's records in their order. A key none of whose records is stored any more (the park run
 * finished them) gets its queued records back to the engine, and leaves.
 */
export class KeyedParking implements KeyedRouter {
  readonly #keys: ParkedKeys;
  readonly #parkable: (item: DeliveryItem) => boolean;
  readonly #release: (entries: readonly ParkEntry[]) => void;
  /** Records of parked keys read and waiting for a round, in seq order. */
  #queue: ParkEntry[] = [];
  /** Keys with records in the round under way: their outcome waits for the round's. */
  readonly #inRound = new Map<string, number>();

  /**
   * @param parkable whether a record fits the park log
   * @param release hands records of a key that left back to the engine (given back to the run, in order)
   */
  constructor(
    keys: ParkedKeys,
    parkable: (item: DeliveryItem) => boolean,
    release: (entries: readonly ParkEntry[]) => void,
  ) {
    this.#keys = keys;
    this.#parkable = parkable;
    this.#release = release;
    keys.onUnstored = (key) => this.#unstored(key);
  }

  /** Records waiting for a round. */
  get size(): number {
    return this.#queue.length;
  }

  /** Queues `item` when its key is parked (true); false when it goes to the engine as usual. */
  route(item: DeliveryItem, record: LogRecord): boolean {
    const key = item.key;
    if (key === undefined) return false;
    const due = this.#keys.due(key);
    if (due === undefined) return false;
    this.#keys.take(key, due);
    const withdrawn = { attempts: item.attempts ?? 0, nextAttemptAt: due, cause: 'its key is parked' };
    this.#queue.push({ item, seq: record.seq, withdrawn });
    return true;
  }

  /** Any key's line may be withdrawn. */
  mayWithdraw(): boolean {
    return true;
  }

  /**
   * Stored with no placement (0): the live run's appends may land before or after a move of the park run,
   * and the park run moves a record of an older placement again, so 0 is always safe.
   */
  genOf(): number {
    return 0;
  }

  /** A key's line was withdrawn from the engine for this round: the key is parked from now. */
  withdrew(chain: readonly ParkEntry[]): void {
    for (const { item, withdrawn } of chain) this.#keys.take(item.key as string, withdrawn.nextAttemptAt);
  }

  /**
   * The queued records a round stores, in order: all of them, but a key's records from its first one that
   * does not fit the park log on (they wait for the key's stored records to finish, then go to the engine).
   */
  takeQueued(): ParkEntry[] {
    const taken: ParkEntry[] = [];
    const kept: ParkEntry[] = [];
    const held = new Set<string>();
    for (const entry of this.#queue) {
      const key = entry.item.key as string;
      if (held.has(key) || !this.#parkable(entry.item)) {
        held.add(key);
        kept.push(entry);
      } else taken.push(entry);
    }
    this.#queue = kept;
    return taken;
  }

  /** The round holding `entries` (every record it stores, keyed or not) started. */
  begin(entries: readonly ParkEntry[]): void {
    for (const { item } of entries) {
      if (item.key !== undefined) this.#inRound.set(item.key, (this.#inRound.get(item.key) ?? 0) + 1);
    }
  }

  /** The round stored `entries`. */
  stored(entries: readonly ParkEntry[]): void {
    for (const { item } of entries) {
      if (item.key === undefined) continue;
      this.#keys.store(item.key);
      this.#leaveRound(item.key);
    }
  }

  /**
   * The round did not store `entries`. A keyed record whose key has others stored is queued again (ahead of
   * the ones read since); the others are returned, in order, to go to the engine, each followed by the
   * queued records of its key, which then leaves the parked keys.
   */
  failed(entries: readonly ParkEntry[]): ParkEntry[] {
    const back: ParkEntry[] = [];
    const requeued: ParkEntry[] = [];
    const released = new Set<string>();
    for (const entry of entries) {
      const key = entry.item.key;
      if (key !== undefined) this.#leaveRound(key);
      if (key === undefined || this.#keys.stored(key) === 0) {
        if (key !== undefined) released.add(key);
        back.push(entry);
      } else requeued.push(entry);
    }
    this.#queue = [...requeued, ...this.#queue];
    for (const key of released) back.push(...this.#takeKey(key));
    for (const { item } of back) if (item.key !== undefined) this.#keys.giveBack(item.key);
    return back;
  }

  /** The key's queued records, out of the queue. */
  #takeKey(key: string): ParkEntry[] {
    const taken = this.#queue.filter((e) => e.item.key === key);
    if (taken.length > 0) this.#queue = this.#queue.filter((e) => e.item.key !== key);
    return taken;
  }

  #leaveRound(key: string): void {
    const n = (this.#inRound.get(key) ?? 0) - 1;
    if (n > 0) this.#inRound.set(key, n);
    else this.#inRound.delete(key);
  }

  /** Nothing of `key` is stored any more: what of it is queued goes to the engine (a round's own outcome decides for its records). */
  #unstored(key: string): void {
    if (this.#inRound.has(key)) return;
    const entries = this.#takeKey(key);
    if (entries.length === 0) return;
    for (const { item } of entries) this.#keys.giveBack(item.key as string);
    this.#release(entries);
  }
}
