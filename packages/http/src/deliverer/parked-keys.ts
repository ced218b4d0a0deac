import { abortable } from '@q/core/internal';
import type { SegmentLog } from '@q/log';
import { parkedGen, parkedNotBefore } from './park-record.js';
import { KEY_HEADER } from './record-item.js';

/** One parked key's records. */
interface Entry {
  /** Its records in the park log that the park run has not finished. */
  stored: number;
  /** Those, plus its records on their way there (withdrawn or read, not stored yet). */
  total: number;
  /** The latest retry time among them: a record of the key parked later carries at least this one. */
  due: number;
  /** The key's current placement in the park log: the park run moves a record of another one again. */
  gen: number;
  /** The last park-log seq of the current placement (-1: none appended by the park run yet). */
  placedTo: number;
}

/** Records read per step when counting a park log's keys at open. */
const COUNT_BATCH = 1024;
/** Body bytes per step at most (one record at least), so a park log of large records is counted in small reads. */
const COUNT_BYTES = 4 * 1024 * 1024;

/**
 * The keys whose records are in the park log or on their way there. While a key is here, the live run
 * hands none of its records to the engine: it parks them behind the ones already parked, so the key's
 * order is the park log's order, which the park run keeps (records of one key carry one retry time, and
 * records due at the same time go out in seq order). A key leaves once the park run finished each of its
 * parked records; its later records go to the engine again.
 *
 * The park run parks keyed records again by moving the key: its records read so far (the head waiting for
 * its retry and those behind it) are appended at the end of the park log as a new placement (`gen`), and
 * every record of the key read later that belongs to an older placement (or came from the live run, 0) is
 * appended again behind them. A key is moved only once its current placement was read to its end, so its
 * records of the current placement always come first.
 */
export class ParkedKeys {
  readonly #keys = new Map<string, Entry>();
  /** For each key someone waits for to leave (replays: a replayed record of a parked key waits for its parked ones). */
  readonly #left = new Map<string, { readonly promise: Promise<void>; readonly resolve: () => void }>();
  /** Told when a key has nothing stored any more while records of it are still on their way. */
  onUnstored: ((key: string) => void) | undefined;

  /** The retry time a record of `key` parked now must carry (none before it may go), if the key is parked. */
  due(key: string): number | undefined {
    return this.#keys.get(key)?.due;
  }

  /** Whether any key has records stored in the park log and not finished. */
  anyStored(): boolean {
    for (const entry of this.#keys.values()) if (entry.stored > 0) return true;
    return false;
  }

  /** Records of `key` stored in the park log and not finished. */
  stored(key: string): number {
    return this.#keys.get(key)?.stored ?? 0;
  }

  /** A record of `key`, due at `due`, is on its way to the park log: the key is parked from now. */
  take(key: string, due: number): void {
    const entry = this.#keys.get(key);
    if (entry === undefined) this.#keys.set(key, { stored: 0, total: 1, due, gen: 0, placedTo: -1 });
    else {
      entry.total++;
      if (due > entry.due) entry.due = due;
    }
  }

  /** The key's current placement (0 before the park run moved it). */
  gen(key: string): number {
    return this.#keys.get(key)?.gen ?? 0;
  }

  /** The last park-log seq of the key's current placement, -1 when the park run appended none. */
  placedTo(key: string): number {
    return this.#keys.get(key)?.placedTo ?? -1;
  }

  /** The park run moves `key` to a new placement (its gen goes up), due at `due` at the earliest. */
  move(key: string, due: number): void {
    const entry = this.#keys.get(key);
    if (entry === undefined) return;
    if (due > entry.due) entry.due = due;
    entry.gen++;
  }

  /** A record of `key`'s current placement was appended at park-log `seq`. */
  placed(key: string, seq: number): void {
    const entry = this.#keys.get(key);
    if (entry !== undefined && seq > entry.placedTo) entry.placedTo = seq;
  }

  /** A record of `key` taken before is now stored in the park log. */
  store(key: string): void {
    const entry = this.#keys.get(key);
    if (entry !== undefined) entry.stored++;
  }

  /** A record of `key` taken before was not stored: it goes to the engine instead. */
  giveBack(key: string): void {
    const entry = this.#keys.get(key);
    if (entry === undefined) return;
    if (--entry.total <= 0) this.#leave(key);
  }

  /** The park run finished a stored record of `key`. */
  finish(key: string): void {
    const entry = this.#keys.get(key);
    if (entry === undefined) return;
    entry.stored--;
    if (--entry.total <= 0) this.#leave(key);
    else if (entry.stored <= 0) this.onUnstored?.(key);
  }

  /** Resolves once `key` left (at once when it is not parked), or when `signal` aborts. */
  whenLeft(key: string, signal: AbortSignal): Promise<void> | undefined {
    if (!this.#keys.has(key) || signal.aborted) return undefined;
    let left = this.#left.get(key);
    if (left === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      left = { promise, resolve };
      this.#left.set(key, left);
    }
    return abortable(left.promise, signal, () => undefined);
  }

  #leave(key: string): void {
    this.#keys.delete(key);
    this.#left.get(key)?.resolve();
    this.#left.delete(key);
  }

  /**
   * Counts the keyed records of the park log from `from` on (what the park run will read, and finish,
   * again): each is stored and unfinished, its key parked, due at the latest `q-park-not-before` of the key.
   */
  async load(log: SegmentLog, from: number): Promise<void> {
    for (let seq = from; seq < log.nextSeq; ) {
      const records = await log.read(seq, { max: COUNT_BATCH, maxBytes: COUNT_BYTES });
      const last = records.at(-1);
      if (last === undefined) return;
      for (const record of records) {
        const key = record.headers[KEY_HEADER];
        if (key === undefined) continue;
        this.take(key, parkedNotBefore(record) ?? 0);
        this.store(key);
        const entry = this.#keys.get(key) as Entry;
        const gen = parkedGen(record);
        if (gen > entry.gen) entry.gen = gen;
        if (gen > 0 && gen === entry.gen) entry.placedTo = record.seq;
      }
      seq = last.seq + 1;
    }
  }
}
