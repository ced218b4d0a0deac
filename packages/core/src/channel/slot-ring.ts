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
