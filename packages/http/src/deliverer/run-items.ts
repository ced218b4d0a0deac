import type { DeliveryEngine } from '../delivery/delivery-engine.js';
import type { DeliveryItem, Withdrawn } from '../delivery/types.js';

/** An item taken back from the engine to be parked, with what its next hand-over needs. */
export interface ParkedItem {
  readonly item: DeliveryItem;
  readonly withdrawn: Withdrawn;
  /** The placement of its key it is stored in (see `ParkedKeys`); 0 when not given. */
  readonly gen?: number | undefined;
}

/** A record on its way to the park log, with its seq in the run. */
export interface ParkEntry extends ParkedItem {
  readonly seq: number;
}

const always = (): boolean => true;
const never = (): boolean => false;
const noop = (): void => undefined;

/** Whose an item is among a deliverer's runs, and its seq there (see {@link RunItems.withdrawWaiting}). */
export type OwnerOf = (item: DeliveryItem) => { readonly items: RunItems; readonly seq: number } | undefined;

/**
 * A run's items handed to the engine and not finished, by seq in hand-over order: what a park round or a
 * closing run on a shared engine takes back from the engine.
 */
export class RunItems {
  readonly #items = new Map<number, DeliveryItem>();
  readonly #withdrawn: () => void;

  /** @param withdrawn called for each item {@link RunItems.withdrawWaiting} takes back (of this run's) */
  constructor(withdrawn: () => void = noop) {
    this.#withdrawn = withdrawn;
  }

  set(seq: number, item: DeliveryItem): void {
    this.#items.set(seq, item);
  }

  delete(seq: number): void {
    this.#items.delete(seq);
  }

  /**
   * Withdraws the lowest items that only wait for time and `parkable` accepts, at most `most`; the whole
   * run is walked (asking the engine is cheap: most of a window is in flight or waiting for room). A keyed
   * item heading its key whose key `keyed` accepts takes its whole line along (all of it this run's and
   * parkable, or none), which may pass `most`.
   */
  withdrawForPark(
    engine: DeliveryEngine,
    parkable: ((item: DeliveryItem) => boolean) | undefined,
    most: number,
    keyed: ((key: string) => boolean) | undefined,
  ): ParkEntry[] {
    const batch: ParkEntry[] = [];
    if (most <= 0) return batch;
    for (const part of this.#withdraw(engine, parkable ?? always, keyed ?? never)) {
      for (const entry of part) batch.push(entry);
      if (batch.length >= most) break;
    }
    return batch;
  }

  /**
   * Withdraws every item that only waits for time (they stay unfinished for their run). A keyed item heading
   * its key takes its whole line along when all of it belongs to the runs `ownerOf` knows (the deliverer's
   * runs, this one included: a replay's line may hold live records of its key): each withdrawn item leaves
   * the items of its own run. The next start sends the line again, in order.
   */
  withdrawWaiting(engine: DeliveryEngine, ownerOf: OwnerOf): void {
    const ours = (item: DeliveryItem): boolean => ownerOf(item) !== undefined;
    for (const part of this.#withdraw(engine, always, always, ours)) {
      for (const { item, seq } of part) {
        const owner = ownerOf(item);
        (owner?.items ?? this).#forget(item, owner?.seq ?? seq);
      }
    }
  }

  /**
   * The seq of each item, by item: a key's line is found in the engine by item. Built when first asked
   * (by a round that meets a line to take), not kept per record on the hand-over path.
   */
  lookup(): (item: DeliveryItem) => number | undefined {
    let seqs: Map<DeliveryItem, number> | undefined;
    return (item) => {
      seqs ??= new Map(Array.from(this.#items, ([seq, it]) => [it, seq]));
      return seqs.get(item);
    };
  }

  /** Removes a withdrawn item (still there: a lookup built before may be stale) and tells the run. */
  #forget(item: DeliveryItem, seq: number): void {
    if (this.#items.get(seq) !== item) return;
    this.#items.delete(seq);
    this.#withdrawn();
  }

  /**
   * Walks the items in seq order and withdraws, one item at a time (so a caller stopping early leaves the
   * rest in the engine), each keyless one that only waits for time and `accept` takes, and for a keyed one
   * whose key `keyed` takes, its key's whole line when all of it is this run's (or `alsoOurs`) and accepted.
   * An entry of another run's item has seq -1.
   */
  *#withdraw(
    engine: DeliveryEngine,
    accept: (item: DeliveryItem) => boolean,
    keyed: (key: string) => boolean,
    alsoOurs: (item: DeliveryItem) => boolean = never,
  ): Generator<ParkEntry[]> {
    const seqOf = this.lookup();
    const inLine = (item: DeliveryItem): boolean => (seqOf(item) !== undefined || alsoOurs(item)) && accept(item);
    for (const [seq, item] of this.#items) {
      if (item.key !== undefined) {
        const chain = keyed(item.key) ? engine.withdrawKey(item, inLine) : undefined;
        if (chain !== undefined) yield chain.map((c) => ({ ...c, seq: seqOf(c.item) ?? -1 }));
        continue;
      }
      if (!engine.withdrawable(item) || !accept(item)) continue;
      const withdrawn = engine.withdraw(item);
      if (withdrawn !== undefined) yield [{ item, withdrawn, seq }];
    }
  }

  /** Whether the engine is sending (or about to send) any of the items. */
  sending(engine: DeliveryEngine): boolean {
    for (const item of this.#items.values()) if (engine.sending(item)) return true;
    return false;
  }
}
