import { whenAborted } from '@q/core/internal';
import type { SegmentLog } from '@q/log';
import { IDEMPOTENCY_HEADER, seqOf } from './message.js';

/** The message an idempotency key was first sent with. */
export interface Taken {
  readonly id: string;
  readonly seq: number;
}

/**
 * The last `window` idempotency keys and the message each was first sent with. A send whose key is known
 * stores nothing and gets the earlier id, once the earlier send is safe; if the earlier send fails, the
 * key is free again. Kept in memory and rebuilt at open from the records still in the log (direct sends
 * never reach the log, so their keys are not remembered across a restart).
 */
export class IdempotencyIndex {
  readonly #window: number;
  readonly #keys = new Map<string, Promise<Taken>>();
  /** Sends that resolved: their keys are taken for good (until forgotten). */
  readonly #safe = new WeakSet<Promise<Taken>>();

  /**
   * Walks the keys in insertion order, kept from one eviction to the next: a fresh `keys()` would step
   * again over every slot deleted at the front of the Map (V8 leaves them until it rehashes), so each
   * eviction at a full window cost time growing with the window. Everything it passed was evicted, so
   * its next key is the oldest remembered.
   */
  #oldest: Iterator<string>;

  constructor(window: number) {
    this.#window = window;
    this.#oldest = this.#keys.keys();
  }

  /** How many keys are remembered. */
  get size(): number {
    return this.#keys.size;
  }

  /** The earlier send with this key, if remembered. */
  get(key: string): Promise<Taken> | undefined {
    return this.#keys.get(key);
  }

  /** Remembers `key` for a send under way (forgotten if it fails); the oldest key goes beyond the window. */
  set(key: string, sent: Promise<Taken>): void {
    // The sender sees the failure; here it only frees the key.
    sent.then(
      () => this.#safe.add(sent),
      () => {
        if (this.#keys.get(key) === sent) this.#keys.delete(key);
      },
    );
    if (this.#window === 0) return;
    this.#keys.set(key, sent);
    if (this.#keys.size > this.#window) {
      let oldest = this.#oldest.next();
      if (oldest.done === true) {
        // An iterator that reached the end stays done: a new one starts from the front.
        this.#oldest = this.#keys.keys();
        oldest = this.#oldest.next();
      }
      this.#keys.delete(oldest.value as string);
    }
  }

  /**
   * Settles once every send under way holding one of `keys` has settled (its key then taken for good, or
   * free again); `undefined` when none is under way now. Rejects with the signal's reason on abort.
   */
  whenFree(keys: readonly string[], signal: AbortSignal | undefined): Promise<void> | undefined {
    const held: Promise<Taken>[] = [];
    for (const key of keys) {
      const sent = this.#keys.get(key);
      if (sent !== undefined && !this.#safe.has(sent)) held.push(sent);
    }
    if (held.length === 0) return undefined;
    return new Promise((resolve, reject) => {
      const cancel = signal === undefined ? undefined : whenAborted(signal, () => reject(signal.reason));
      void Promise.allSettled(held).then(() => {
        cancel?.();
        resolve();
      });
    });
  }

  /**
   * Loads the keys of the last `window` records of `log` (at open, before any send), but those of a torn
   * batch: it was never acknowledged and is not forwarded, so a retry must store it again.
   */
  async rebuild(log: SegmentLog, outbox: string, torn?: { has(seq: number): boolean }): Promise<void> {
    if (this.#window === 0) return;
    let from = Math.max(log.firstSeq, log.nextSeq - this.#window);
    while (from < log.durableSeq) {
      const records = await log.read(from, { max: 1000, maxBytes: 16 * 1024 * 1024 });
      if (records.length === 0) break;
      for (const r of records) {
        const key = r.headers[IDEMPOTENCY_HEADER];
        if (key === undefined || torn?.has(r.seq)) continue;
        const seq = seqOf(r);
        this.set(key, Promise.resolve({ id: `${outbox}:${seq}`, seq }));
      }
      from = (records[records.length - 1]?.seq ?? from) + 1;
    }
  }
}
