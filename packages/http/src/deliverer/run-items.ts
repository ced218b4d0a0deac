import type { DeliveryEngine } from '../delivery/delivery-engine.js';
import type { DeliveryItem, Withdrawn } from '../delivery/types.js';

/** An item taken back from the engine to be parked, with what its next hand-over needs. */
export interface ParkedItem {
  readonly item: DeliveryItem;
  readonly withdrawn: Withdrawn;
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
   * run is walked (asking the engine is cheap: most of a window is in flight or waiting for room).
   */
  withdrawForPark(
    engine: DeliveryEngine,
    parkable: ((item: DeliveryItem) => boolean) | undefined,
    most: number,
  ): { batch: ParkedItem[]; seqs: number[] } {
    const batch: ParkedItem[] = [];
    const seqs: number[] = [];
    for (const [seq, item] of this.#items) {
      if (batch.length >= most) break;
      if (!engine.withdrawable(item) || parkable?.(item) === false) continue;
      const withdrawn = engine.withdraw(item);
      if (withdrawn === undefined) continue;
      batch.push({ item, withdrawn });
      seqs.push(seq);
    }
    return { batch, seqs };
  }

  /** Withdraws every item that only waits for time (they stay unfinished for the run); returns how many. */
  withdrawWaiting(engine: DeliveryEngine): number {
    let n = 0;
    for (const [seq, item] of this.#items) {
      if (!engine.withdrawable(item) || engine.withdraw(item) === undefined) continue;
      this.#items.delete(seq);
      n++;
    }
    return n;
  }
}
