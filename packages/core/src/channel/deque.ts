/**
 * A growable FIFO ring buffer.
 *
 * `Array#shift` is O(n) once V8 leaves its fast path, and the queue's waiter lists, inboxes and
 * per-key backlogs are shifted on every message, so they live in a power-of-two ring instead.
 * Popped slots are cleared so the ring never keeps a message alive for the garbage collector.
 * Exported for adapters that keep per-partition FIFOs on their hot path (`@q/kafka`'s offset tracker).
 */
export class Deque<T> {
  #items: (T | undefined)[];
  #head = 0;
  #length = 0;
  #mask: number;

  constructor(initialCapacity = 8) {
    let size = 8;
    while (size < initialCapacity) size <<= 1;
    this.#items = new Array<T | undefined>(size);
    this.#mask = size - 1;
  }

  /** Number of items held. */
  get length(): number {
    return this.#length;
  }

  /** Appends an item at the tail. */
  push(item: T): void {
    if (this.#length > this.#mask) this.#grow();
    this.#items[(this.#head + this.#length) & this.#mask] = item;
    this.#length++;
  }

  /** Removes and returns the head, or `undefined` when empty. */
  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#length--;
    return item;
  }

  /** Returns the head without removing it. */
  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head];
  }

  /**
   * The item `index` places from the head (0 is the head), or `undefined` past the tail. Lets a
   * reader walk the ring without draining it (the Kafka tracker's offset map, once per commit).
   */
  at(index: number): T | undefined {
    return index >= 0 && index < this.#length ? this.#items[(this.#head + index) & this.#mask] : undefined;
  }

  /** Removes every item and returns them in FIFO order. */
  drain(): T[] {
    const out: T[] = [];
    for (let item = this.shift(); item !== undefined; item = this.shift()) out.push(item);
    return out;
  }

  #grow(): void {
    const old = this.#items;
    const size = old.length << 1;
    const items = new Array<T | undefined>(size);
    for (let i = 0; i < this.#length; i++) items[i] = old[(this.#head + i) & this.#mask];
    this.#items = items;
    this.#head = 0;
    this.#mask = size - 1;
  }
}
