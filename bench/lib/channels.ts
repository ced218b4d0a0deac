/**
 * Hand-written channels used as baselines: what a competent engineer writes in an afternoon, with no
 * settlement, stats or stop semantics. They set the in-process limit the Queue is measured against.
 */

/** Bounded channel of arrays; capacity counts messages. */
export class BatchChannel<T> {
  readonly #items: T[][] = [];
  #head = 0;
  #count = 0;
  #closed = false;
  readonly #readers: (() => void)[] = [];
  readonly #writers: (() => void)[] = [];
  constructor(readonly capacity: number) {}

  async send(batch: T[]): Promise<void> {
    while (this.#count >= this.capacity) await new Promise<void>((r) => this.#writers.push(r));
    this.#items.push(batch);
    this.#count += batch.length;
    this.#readers.shift()?.();
  }

  async receive(): Promise<T[] | undefined> {
    while (this.#head === this.#items.length) {
      if (this.#closed) return undefined;
      await new Promise<void>((r) => this.#readers.push(r));
    }
    const batch = this.#items[this.#head] as T[];
    this.#items[this.#head++] = [];
    if (this.#head > 1024) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
    this.#count -= batch.length;
    this.#writers.shift()?.();
    return batch;
  }

  close(): void {
    this.#closed = true;
    for (const r of this.#readers.splice(0)) r();
  }
}

/** Bounded channel with one promise per message on each side. */
export class PromiseChannel<T> {
  readonly #items: T[] = [];
  #head = 0;
  #closed = false;
  readonly #readers: ((v: T | undefined) => void)[] = [];
  readonly #writers: (() => void)[] = [];
  constructor(readonly capacity: number) {}

  send(item: T): Promise<void> {
    const reader = this.#readers.shift();
    if (reader !== undefined) {
      reader(item);
      return Promise.resolve();
    }
    if (this.#items.length - this.#head < this.capacity) {
      this.#items.push(item);
      return Promise.resolve();
    }
    return new Promise<void>((r) => this.#writers.push(r)).then(() => this.send(item));
  }

  receive(): Promise<T | undefined> {
    if (this.#head < this.#items.length) {
      const item = this.#items[this.#head] as T;
      this.#items[this.#head++] = undefined as T;
      if (this.#head > 4096) {
        this.#items.splice(0, this.#head);
        this.#head = 0;
      }
      this.#writers.shift()?.();
      return Promise.resolve(item);
    }
    if (this.#closed) return Promise.resolve(undefined);
    return new Promise<T | undefined>((r) => this.#readers.push(r));
  }

  close(): void {
    this.#closed = true;
    for (const r of this.#readers.splice(0)) r(undefined);
  }
}
