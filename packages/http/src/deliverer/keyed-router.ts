import type { LogRecord } from '@q/log';
import type { DeliveryItem } from '../delivery/types.js';
import type { ParkEntry } from './run-items.js';

/**
 * How a delivery run parks keyed records so that each key keeps its order: which records it reads go to
 * the park log instead of the engine, which keys' lines a park round may withdraw, and what happens to a
 * round's records after it stored them or failed. The live run's is `KeyedParking`, the park run's
 * `KeyMoves`.
 */
export interface KeyedRouter {
  /** Records waiting for a round (a round starts however full the window is while there are some). */
  readonly size: number;
  /** Queues `item` (read as `record`) for the next round when its key requires it; true then. */
  route(item: DeliveryItem, record: LogRecord): boolean;
  /** Whether a round may withdraw `key`'s line now. */
  mayWithdraw(key: string): boolean;
  /** The placement a record of `item`'s key is stored in. */
  genOf(item: DeliveryItem): number;
  /** Keyed records taken for this round from the engine (keys' whole lines) and from what was held. */
  withdrew(entries: readonly ParkEntry[]): void;
  /** The queued records the round stores after the withdrawn ones. */
  takeQueued(): ParkEntry[];
  /** The round with `entries` starts storing them. */
  begin(entries: readonly ParkEntry[]): void;
  /** The round stored `entries` at park-log `seqs`. */
  stored(entries: readonly ParkEntry[], seqs: readonly number[]): void;
  /** The round failed: what goes back to the engine, in order (the rest is queued again). */
  failed(entries: readonly ParkEntry[]): ParkEntry[];
}
