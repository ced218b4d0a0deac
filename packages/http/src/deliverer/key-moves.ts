import type { LogRecord } from '@q/log';
import type { DeliveryItem } from '../delivery/types.js';
import type { KeyedRouter } from './keyed-router.js';
import { parkedGen } from './park-record.js';
import type { ParkedKeys } from './parked-keys.js';
import type { ParkEntry } from './run-items.js';

/**
 * The park run's side of parking keyed records: it moves a key. When a key's head waits for its retry,
 * a round takes the key's line (the head, the records behind it in the engine, and those held for their
 * time) and appends it at the end of the park log as the key's next placement (`gen`); every record of
 * the key read later that belongs to an older placement (the live run's are 0) is queued and appended
 * again behind it. A key is moved only once its current placement was read to its end: the records read
 * so far are then the first of the key, and everything moved later comes after them.
 */
export class KeyMoves implements KeyedRouter {
  readonly #keys: ParkedKeys;
  readonly #next: () => number;
  /** Records read from an older placement, waiting to be appended again, in seq order. */
  #queue: ParkEntry[] = [];

  /** @param next the run's next seq to read */
  constructor(keys: ParkedKeys, next: () => number) {
    this.#keys = keys;
    this.#next = next;
  }

  get size(): number {
    return this.#queue.length;
  }

  route(item: DeliveryItem, record: LogRecord): boolean {
    const key = item.key;
    if (key === undefined || parkedGen(record) === this.#keys.gen(key)) return false;
    const withdrawn = {
      attempts: item.attempts ?? 0,
      nextAttemptAt: item.notBefore ?? 0,
      cause: 'moved behind its key',
    };
    this.#queue.push({ item, seq: record.seq, withdrawn });
    return true;
  }

  mayWithdraw(key: string): boolean {
    return this.#next() > this.#keys.placedTo(key);
  }

  genOf(item: DeliveryItem): number {
    return item.key === undefined ? 0 : this.#keys.gen(item.key);
  }

  withdrew(entries: readonly ParkEntry[]): void {
    const dues = new Map<string, number>();
    for (const { item, withdrawn } of entries) {
      const key = item.key as string;
      dues.set(key, Math.max(dues.get(key) ?? 0, withdrawn.nextAttemptAt));
    }
    for (const [key, due] of dues) this.#keys.move(key, due);
  }

  takeQueued(): ParkEntry[] {
    const taken = this.#queue;
    this.#queue = [];
    return taken;
  }

  begin(): void {}

  stored(entries: readonly ParkEntry[], seqs: readonly number[]): void {
    entries.forEach(({ item }, i) => {
      if (item.key !== undefined) this.#keys.placed(item.key, seqs[i] as number);
    });
  }

  /**
   * Nothing goes back to the engine: the keys' lines are queued again, ahead of newer records, for the
   * placement they were given (records of the key read since are already routed behind it). Handed back,
   * a line would be the key's head in the engine while later records of it were stored with the new gen,
   * which a restart would take for the key's first ones. Keyless records go back to the engine.
   */
  failed(entries: readonly ParkEntry[]): ParkEntry[] {
    const keyed = entries.filter((e) => e.item.key !== undefined);
    this.#queue = [...keyed, ...this.#queue];
    return entries.filter((e) => e.item.key === undefined);
  }
}
