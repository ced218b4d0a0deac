/** The `end` of a slot holding one message rather than part of a batch. */
export const SINGLE = -1;

/**
 * The channel's buffer: a growable ring of slots, each a single message or a range `[start, end)` of
 * a sender's own batch array, with the origin it came from. Four parallel arrays rather than one
 * object per slot: a slot costs no allocation on the way in.
 */
export class SlotRing<T, O> {
  values: (T | readonly T[] | undefined)[];
  origins: (O | undefined)[];
  starts: number[];
  ends: number[];
  /** Index of the oldest slot. */
  head = 0;
  /** Slots in use. */
  size = 0;
  #mask: number;

  constructor(initial = 16) {
    this.values = new Array(initial);
    this.origins = new Array(initial);
    this.starts = new Array<number>(initial).fill(0);
    this.ends = new Array<number>(initial).fill(0);
    this.#mask = initial - 1;
  }

  /** Appends a slot: `end` is {@link SINGLE} for a single message in `value`. */
  push(value: T | readonly T[], origin: O, start: number, end: number): void {
    if (this.size > this.#mask) this.#grow();
    const i = (this.head + this.size) & this.#mask;
    this.values[i] = value;
    this.origins[i] = origin;
    this.starts[i] = start;
    this.ends[i] = end;
    this.size++;
  }

  /** Drops the oldest slot (its references too, so a taken batch can be collected). */
  pop(): void {
    const h = this.head;
    this.values[h] = undefined;
    this.origins[h] = undefined;
    this.head = (h + 1) & this.#mask;
    this.size--;
  }

  /** Takes the oldest message (the ring must not be empty); its origin is `origins[head]` before the call. */
  shiftOne(): T {
    const h = this.head;
    const end = this.ends[h] as number;
    if (end === SINGLE) {
      const message = this.values[h] as T;
      this.pop();
      return message;
    }
    const start = this.starts[h] as number;
    const message = (this.values[h] as readonly T[])[start] as T;
    if (start + 1 === end) this.pop();
    else this.starts[h] = start + 1;
    return message;
  }

  /**
   * Takes up to `max` of the oldest messages of one origin (the ring must not be empty): consecutive
   * single slots, or the head slot's batch range, as the sender's own array when it is whole.
   */
  shiftBatch(max: number): readonly T[] {
    const h = this.head;
    const end = this.ends[h] as number;
    if (end === SINGLE) {
      const origin = this.origins[h];
      const gathered: T[] = [];
      while (
        this.size !== 0 &&
        gathered.length < max &&
        this.ends[this.head] === SINGLE &&
        this.origins[this.head] === origin
      ) {
        gathered.push(this.values[this.head] as T);
        this.pop();
      }
      return gathered;
    }
    const start = this.starts[h] as number;
    const values = this.values[h] as readonly T[];
    const take = Math.min(max, end - start);
    if (start === 0 && take === values.length) {
      this.pop();
      return values;
    }
    if (start + take === end) this.pop();
    else this.starts[h] = start + take;
    return values.slice(start, start + take);
  }

  /**
   * Appends to `run`, from the oldest slots of `origin`, the messages whose key is `key`, up to `max`
   * in `run`; returns how many it took. Stops at the first other key or origin.
   */
  shiftRun(origin: O, keyOf: (message: T) => unknown, key: unknown, max: number, run: T[]): number {
    let taken = 0;
    while (run.length < max && this.size !== 0) {
      const h = this.head;
      if (this.origins[h] !== origin) break;
      const end = this.ends[h] as number;
      if (end === SINGLE) {
        const message = this.values[h] as T;
        if (keyOf(message) !== key) break;
        run.push(message);
        this.pop();
        taken++;
        continue;
      }
      const start = this.starts[h] as number;
      const i = takeRun(
        this.values[h] as readonly T[],
        start,
        Math.min(end, start + max - run.length),
        keyOf,
        key,
        run,
      );
      taken += i - start;
      if (i !== end) {
        this.starts[h] = i;
        break;
      }
      this.pop();
    }
    return taken;
  }

  #grow(): void {
    const size = (this.#mask + 1) << 1;
    const values = new Array<T | readonly T[] | undefined>(size);
    const origins = new Array<O | undefined>(size);
    const starts = new Array<number>(size).fill(0);
    const ends = new Array<number>(size).fill(0);
    for (let k = 0; k < this.size; k++) {
      const i = (this.head + k) & this.#mask;
      values[k] = this.values[i];
      origins[k] = this.origins[i];
      starts[k] = this.starts[i] as number;
      ends[k] = this.ends[i] as number;
    }
    this.values = values;
    this.origins = origins;
    this.starts = starts;
    this.ends = ends;
    this.head = 0;
    this.#mask = size - 1;
  }
}

/** Appends `values[start..limit)` to `run` while their key is `key`; returns where it stopped. */
export function takeRun<T>(
  values: readonly T[],
  start: number,
  limit: number,
  keyOf: (message: T) => unknown,
  key: unknown,
  run: T[],
): number {
  let i = start;
  while (i < limit) {
    const message = values[i] as T;
    if (keyOf(message) !== key) break;
    run.push(message);
    i++;
  }
  return i;
}
