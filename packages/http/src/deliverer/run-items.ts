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

/**
 * A run's items handed to the engine and not finished, by seq in hand-over order: what a park round or a
 * closing run on a shared engine takes back from the engine.
 */
export class RunItems {
  readonly #items = new Map<number, DeliveryItem>();

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
    const seqOf = this.#seqLookup();
    const accept = (item: DeliveryItem): boolean => seqOf(item) !== undefined && parkable?.(item) !== false;
    for (const [seq, item] of this.#items) {
      if (batch.length >= most) break;
      if (item.key !== undefined) {
        const chain = keyed?.(item.key) === true ? engine.withdrawKey(item, accept) : undefined;
        if (chain !== undefined) for (const c of chain) batch.push({ ...c, seq: seqOf(c.item) as number });
        continue;
      }
      if (!engine.withdrawable(item) || parkable?.(item) === false) continue;
      const withdrawn = engine.withdraw(item);
      if (withdrawn === undefined) continue;
      batch.push({ item, withdrawn, seq });
    }
    return batch;
  }

  /**
   * Withdraws every item that only waits for time (they stay unfinished for the run); returns how many.
   * A keyed item heading its key takes its whole line along, when all of it is this run's: the next
   * start sends the line again, in order.
   */
  withdrawWaiting(engine: DeliveryEngine): number {
    let n = 0;
    const seqOf = this.#seqLookup();
    const mine = (item: DeliveryItem): boolean => seqOf(item) !== undefined;
    for (const [seq, item] of this.#items) {
      if (item.key !== undefined) {
        for (const c of engine.withdrawKey(item, mine) ?? []) {
          this.delete(seqOf(c.item) as number);
          n++;
        }
        continue;
      }
      if (!engine.withdrawable(item) || engine.withdraw(item) === undefined) continue;
      this.delete(seq);
      n++;
    }
    return n;
  }

  /** Whether the engine is sending (or about to send) any of the items. */
  sending(engine: DeliveryEngine): boolean {
    for (const item of this.#items.values()) if (engine.sending(item)) return true;
    return false;
  }

  /**
   * The seq of each item, by item: a key's line is found in the engine by item. Built when first asked
   * (by a round that meets a line to take), not kept per record on the hand-over path.
   */
  #seqLookup(): (item: DeliveryItem) => number | undefined {
    let seqs: Map<DeliveryItem, number> | undefined;
    return (item) => {
      seqs ??= new Map(Array.from(this.#items, ([seq, it]) => [it, seq]));
      return seqs.get(item);
    };
  }
}
