import type { ProducerSlot } from './slots.js';

/**
 * One holder's backlog: the messages parked behind the keys it holds, in channel order, as ranges
 * `[start, end)` of the arrays they were taken in (a batch, or a run), each with its origin. Four
 * parallel arrays in a ring rather than an object (or a copy) per parked range: parking costs no
 * allocation, and a holder's next call copies its messages once, when it joins several ranges.
 * The arrays are never written to: a range of a producer's batch stays that batch.
 */
export class Backlog<T> {
  #values: (readonly T[] | undefined)[];
  #origins: (ProducerSlot<T> | undefined)[];
  #starts: Int32Array;
  #ends: Int32Array;
  #head = 0;
  /** The last range when it is a copy of this backlog's own that more may be appended to, and its origin. */
  #tail: T[] | undefined;
  #tailOrigin: ProducerSlot<T> | undefined;
  /** Ranges held. */
  #ranges = 0;
  #mask: number;

  /** `initial`: the ranges the ring holds before it grows (a power of two). */
  constructor(initial = 16) {
    this.#values = new Array(initial);
    this.#origins = new Array(initial);
    this.#starts = new Int32Array(initial);
    this.#ends = new Int32Array(initial);
    this.#mask = initial - 1;
  }

  /** Whether no range is parked. */
  get empty(): boolean {
    return this.#ranges === 0;
  }

  /** The origin of the oldest range (the backlog must not be empty). */
  get origin(): ProducerSlot<T> {
    return this.#origins[this.#head] as ProducerSlot<T>;
  }

  /** Parks `values[start, end)` (not empty), sent by `origin`, behind what is parked already. */
  push(values: readonly T[], start: number, end: number, origin: ProducerSlot<T>): void {
    this.#tail = undefined;
    this.#add(values, start, end, origin);
  }

  /**
   * Parks a copy of `values[start, end)`: appended to the last range when that is a copy of this backlog's
   * own from the same origin with room up to `cap` messages (many small ranges cost one array, not one
   * each), else as a new copy.
   */
  pushCopy(values: readonly T[], start: number, end: number, origin: ProducerSlot<T>, cap: number): void {
    const tail = this.#tail;
    if (tail !== undefined && this.#tailOrigin === origin && tail.length + (end - start) <= cap) {
      for (let i = start; i < end; i++) tail.push(values[i] as T);
      const last = (this.#head + this.#ranges - 1) & this.#mask;
      this.#ends[last] = tail.length;
      return;
    }
    const copy = values.slice(start, end);
    this.#add(copy, 0, copy.length, origin);
    this.#tail = copy;
    this.#tailOrigin = origin;
  }

  #add(values: readonly T[], start: number, end: number, origin: ProducerSlot<T>): void {
    if (this.#ranges > this.#mask) this.#grow();
    const i = (this.#head + this.#ranges) & this.#mask;
    this.#values[i] = values;
    this.#origins[i] = origin;
    this.#starts[i] = start;
    this.#ends[i] = end;
    this.#ranges++;
  }

  /**
   * Takes the oldest range and the ones behind it from the same origin (settlement is per producer)
   * while they fit in `max` messages together; the oldest is taken whatever its length. A lone range
   * that is a whole array comes back as that array, a lone part of one as its `slice`; joined ranges are
   * copied once into a new plain array.
   * The backlog must not be empty; read {@link Backlog.origin} first.
   */
  shift(max: number): readonly T[] {
    const values = this.#values;
    const origins = this.#origins;
    const starts = this.#starts;
    const ends = this.#ends;
    const mask = this.#mask;
    const h = this.#head;
    const origin = origins[h];
    let size = (ends[h] as number) - (starts[h] as number);
    let n = 1;
    for (; n < this.#ranges; n++) {
      const k = (h + n) & mask;
      const len = (ends[k] as number) - (starts[k] as number);
      if (origins[k] !== origin || size + len > max) break;
      size += len;
    }
    const first = values[h] as readonly T[];
    let out: readonly T[];
    // A lone range of a plain array is its `slice` (a native copy, about three times cheaper than the loop
    // below); joined ranges, and arrays with a species of their own, are copied message by message into a
    // plain array (no `concat`: it takes an argument per range, honours `Symbol.isConcatSpreadable`, and
    // slows down for the whole process once any object sets that symbol).
    if (n === 1 && first.constructor === Array) out = rangeOf(first, starts[h] as number, ends[h] as number);
    else {
      const joined = new Array<T>(size);
      let w = 0;
      for (let r = 0; r < n; r++) {
        const k = (h + r) & mask;
        const v = values[k] as readonly T[];
        const end = ends[k] as number;
        for (let i = starts[k] as number; i < end; i++) joined[w++] = v[i] as T;
      }
      out = joined;
    }
    for (let r = 0; r < n; r++) {
      const k = (h + r) & mask;
      // Cleared so a backlog never keeps a taken batch alive for the garbage collector.
      values[k] = undefined;
      origins[k] = undefined;
    }
    this.#head = (h + n) & mask;
    this.#ranges -= n;
    // The open copy was the last range: it is gone (or handed out whole).
    if (this.#ranges === 0) this.#tail = undefined;
    return out;
  }

  /** Empties the backlog, handing each message with its origin to `each`, oldest first. */
  drain(each: (origin: ProducerSlot<T>, message: T) => void): void {
    while (this.#ranges !== 0) {
      const origin = this.origin;
      for (const m of this.shift(Number.POSITIVE_INFINITY)) each(origin, m);
    }
  }

  #grow(): void {
    const size = (this.#mask + 1) << 1;
    const values = new Array<readonly T[] | undefined>(size);
    const origins = new Array<ProducerSlot<T> | undefined>(size);
    const starts = new Int32Array(size);
    const ends = new Int32Array(size);
    for (let r = 0; r < this.#ranges; r++) {
      const k = (this.#head + r) & this.#mask;
      values[r] = this.#values[k];
      origins[r] = this.#origins[k];
      starts[r] = this.#starts[k] as number;
      ends[r] = this.#ends[k] as number;
    }
    this.#values = values;
    this.#origins = origins;
    this.#starts = starts;
    this.#ends = ends;
    this.#head = 0;
    this.#mask = size - 1;
  }
}

/** `values[start, end)`: `values` itself when that is all of it, else its `slice`. */
function rangeOf<T>(values: readonly T[], start: number, end: number): readonly T[] {
  return start === 0 && end === values.length ? values : values.slice(start, end);
}
