import type { DeliveryItem } from '../delivery/types.js';

/** One item read before its time. */
interface Held {
  readonly item: DeliveryItem;
  readonly seq: number;
  readonly due: number;
}

/** setTimeout's longest delay: a later due time is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Items read before their time (park records waiting for their retry), in a min-heap by due time and
 * handed out by one timer at the earliest: a record due now is never held back by one read before it
 * and due hours later (back-off grows to a day). Items due at the same time go in seq order (a parked
 * key's records share one retry time, and their seq order is the key's order). The caller bounds how many
 * are held (its window).
 */
export class HeldItems {
  readonly #heap: Held[] = [];
  readonly #hand: (item: DeliveryItem, seq: number) => void;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;

  /** @param hand called with each item at its due time (or later), in due-time order */
  constructor(hand: (item: DeliveryItem, seq: number) => void) {
    this.#hand = hand;
  }

  /** Items held. */
  get size(): number {
    return this.#heap.length;
  }

  /** Holds `item` (read at `seq`) until `due` (ms since the epoch). */
  add(item: DeliveryItem, seq: number, due: number): void {
    const heap = this.#heap;
    heap.push({ item, seq, due });
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i] as Held, heap[parent] as Held)) break;
      [heap[i], heap[parent]] = [heap[parent] as Held, heap[i] as Held];
      i = parent;
    }
    this.#arm();
  }

  /** Drops every held item and the timer (they stay unfinished for the caller). */
  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    this.#heap.length = 0;
  }

  #arm(): void {
    const head = this.#heap[0];
    if (head === undefined || this.#timerAt <= head.due) return;
    clearTimeout(this.#timer);
    this.#timerAt = head.due;
    this.#timer = setTimeout(() => this.#fire(), Math.min(MAX_TIMER_MS, Math.max(0, head.due - Date.now())));
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    for (let head = this.#heap[0]; head !== undefined && head.due <= now; head = this.#heap[0]) {
      this.#pop();
      this.#hand(head.item, head.seq);
    }
    this.#arm();
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop() as Held;
    if (heap.length === 0) return;
    heap[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < heap.length && before(heap[l] as Held, heap[min] as Held)) min = l;
      if (r < heap.length && before(heap[r] as Held, heap[min] as Held)) min = r;
      if (min === i) return;
      [heap[i], heap[min]] = [heap[min] as Held, heap[i] as Held];
      i = min;
    }
  }
}

/** Whether `a` goes before `b`: due earlier, or due at the same time and read first. */
function before(a: Held, b: Held): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}
