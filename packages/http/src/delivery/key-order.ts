import type { DeliveryJob } from './delivery-job.js';

/**
 * Per-key order: of the items sharing a key, only the head is handed to its endpoint; the next one waits
 * until the head finished (delivered or dead-lettered). A key's waiting line is threaded through the jobs
 * (`nextOfKey`), so the map holds one entry per key with work, pointing at the key's last job.
 */
export class KeyOrder {
  readonly #tails = new Map<string, DeliveryJob>();
  /** Jobs waiting behind their key's head. */
  waiting = 0;

  /** Queues `job` behind its key's last job; true when it is the key's head and may go now. */
  admit(key: string, job: DeliveryJob): boolean {
    const tail = this.#tails.get(key);
    this.#tails.set(key, job);
    if (tail === undefined) return true;
    tail.nextOfKey = job;
    this.waiting++;
    return false;
  }

  /** The head `job` of `key` finished: the key's next job (now its head), if any. */
  release(key: string, job: DeliveryJob): DeliveryJob | undefined {
    const next = job.nextOfKey;
    job.nextOfKey = undefined;
    if (next === undefined) {
      if (this.#tails.get(key) === job) this.#tails.delete(key);
      return undefined;
    }
    this.waiting--;
    return next;
  }

  /** `key`'s whole line was taken out (its head and `followers` jobs behind it): the key has no work here. */
  drop(key: string, followers: number): void {
    this.#tails.delete(key);
    this.waiting -= followers;
  }

  /** Forgets every key (the engine closed and rejected their jobs). */
  clear(): void {
    this.#tails.clear();
    this.waiting = 0;
  }
}
