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
 * and due hours later (back-off grows to a day). A keyed item is never due before one of its key held
 * before it (its due is raised to that one's), and items due at the same time go in seq order, so a key's
 * items leave in the order they were added. The caller bounds how many are held (its window).
 */
export class HeldItems {
  readonly #heap: Held[] = [];
  readonly #hand: (item: DeliveryItem, seq: number) => void;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  /** Per key with items held: how many, and the latest due among them. */
  readonly #keys = new Map<string, { count: number; due: number }>();

  /** @param hand called with each item at its due time (or later), in due-time order */
  constructor(hand: (item: DeliveryItem, seq: number) => void) {
    this.#hand = hand;
  }

  /** Items held. */
  get size(): number {
    return this.#heap.length;
  }

  /** Whether items of `key` are held: one of it due now must still wait behind them. */
  holds(key: string): boolean {
    return this.#keys.has(key);
  }

  /** Holds `item` (read at `seq`) until `due` (ms since the epoch), or its key's latest held due. */
  add(item: DeliveryItem, seq: number, due: number): void {
    const key = item.key;
    if (key !== undefined) {
      const k = this.#keys.get(key);
      if (k === undefined) this.#keys.set(key, { count: 1, due });
      else {
        k.count++;
        if (k.due > due) due = k.due;
        else k.due = due;
      }
    }
    this.#push({ item, seq, due });
    this.#arm();
  }

  /**
   * Takes out every item of `keys`, each key's in the order they were added (the caller owns them again):
   * one walk of the heap, however many keys.
   */
  takeKeys(keys: ReadonlySet<string>): Array<{ item: DeliveryItem; seq: number; due: number }> {
    let any = false;
    for (const key of keys) if (this.#keys.delete(key)) any = true;
    if (!any) return [];
    const taken: Held[] = [];
    const rest: Held[] = [];
    for (const h of this.#heap) {
      if (h.item.key !== undefined && keys.has(h.item.key)) taken.push(h);
      else rest.push(h);
    }
    this.#heap.length = 0;
    for (const h of rest) this.#push(h);
    return taken.sort((a, b) => a.seq - b.seq);
  }

  #push(held: Held): void {
    const heap = this.#heap;
    heap.push(held);
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i] as Held, heap[parent] as Held)) break;
      [heap[i], heap[parent]] = [heap[parent] as Held, heap[i] as Held];
      i = parent;
    }
  }

  /** Drops every held item and the timer (they stay unfinished for the caller). */
  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    this.#heap.length = 0;
    this.#keys.clear();
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
      const key = head.item.key;
      const k = key === undefined ? undefined : this.#keys.get(key);
      if (k !== undefined && --k.count === 0) this.#keys.delete(key as string);
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
