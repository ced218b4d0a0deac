import { describe, expect, it } from 'vitest';
import { Backlog } from '../src/queue/backlog.js';
import type { ProducerSlot } from '../src/queue/slots.js';

// A holder's backlog keeps ranges of the arrays messages were taken in; its next call joins them.

const p1 = {} as ProducerSlot<number>;
const p2 = {} as ProducerSlot<number>;

describe('Backlog', () => {
  it('hands a lone whole array back as that array, and a lone range as a copy of it', () => {
    const backlog = new Backlog<number>();
    const whole = [1, 2, 3];
    const batch = [4, 5, 6, 7];
    backlog.push(whole, 0, 3, p1);
    backlog.push(batch, 1, 3, p2);
    expect(backlog.origin).toBe(p1);
    expect(backlog.shift(256)).toBe(whole);
    expect(backlog.origin).toBe(p2);
    expect(backlog.shift(256)).toEqual([5, 6]);
    expect(backlog.empty).toBe(true);
    // The parked arrays are never written to.
    expect(batch).toEqual([4, 5, 6, 7]);
  });

  it('joins ranges of one origin in order, up to max messages; the oldest goes whatever its length', () => {
    const backlog = new Backlog<number>();
    const a = [0, 1, 2, 3, 4, 5];
    const b = [6, 7, 8, 9];
    backlog.push(a, 2, 6, p1);
    backlog.push(b, 0, 2, p1);
    backlog.push(b, 3, 4, p1);
    backlog.push([10, 11], 0, 2, p2);
    expect(backlog.shift(6)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(backlog.shift(6)).toEqual([9]);
    expect(backlog.shift(1)).toEqual([10, 11]);
    expect(backlog.empty).toBe(true);
  });

  it('grows past its first ring, keeping order, and drains every message with its origin', () => {
    const backlog = new Backlog<number>(2);
    const values: number[] = [];
    for (let i = 0; i < 40; i++) {
      values.push(i);
      backlog.push(values, i, i + 1, i < 30 ? p1 : p2);
      if (i === 5) expect(backlog.shift(3)).toEqual([0, 1, 2]);
    }
    const seen: [ProducerSlot<number>, number][] = [];
    backlog.drain((origin, m) => seen.push([origin, m]));
    expect(seen.map(([, m]) => m)).toEqual(Array.from({ length: 37 }, (_, i) => i + 3));
    expect(seen.filter(([o]) => o === p2).map(([, m]) => m)).toEqual([30, 31, 32, 33, 34, 35, 36, 37, 38, 39]);
    expect(backlog.empty).toBe(true);
  });

  it('pushCopy appends small copies to one open copy (same origin, up to cap), never to a range of a taken array', () => {
    const backlog = new Backlog<number>();
    const batch = [0, 1, 2, 3, 4, 5, 6, 7];
    backlog.pushCopy(batch, 0, 1, p1, 4);
    backlog.pushCopy(batch, 2, 4, p1, 4);
    // Past the cap: a new copy.
    backlog.pushCopy(batch, 5, 7, p1, 4);
    // Another origin: a new copy.
    backlog.pushCopy(batch, 7, 8, p2, 4);
    // A range of the taken array closes the open copy: the next copy starts a new one.
    backlog.push(batch, 1, 2, p2);
    backlog.pushCopy(batch, 4, 5, p2, 4);
    expect(backlog.shift(3)).toEqual([0, 2, 3]);
    expect(backlog.shift(2)).toEqual([5, 6]);
    expect(backlog.shift(8)).toEqual([7, 1, 4]);
    expect(backlog.empty).toBe(true);
    // Emptied, it opens no old copy again: a new copy is a new array, and the taken one was never written.
    backlog.pushCopy(batch, 6, 7, p1, 4);
    expect(backlog.shift(8)).toEqual([6]);
    expect(batch).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});

describe('Backlog joins (review S)', () => {
  it('joins and drains 150,000 ranges (more than a call takes arguments) without throwing or losing one', () => {
    const origin = {} as ProducerSlot<number>;
    const b = new Backlog<number>();
    const batch = Array.from({ length: 300_000 }, (_, i) => i);
    for (let i = 0; i < 150_000; i++) b.push(batch, 2 * i, 2 * i + 1, origin);
    const joined = b.shift(1_000_000);
    expect(joined.length).toBe(150_000);
    expect(joined[149_999]).toBe(299_998);
    for (let i = 0; i < 150_000; i++) b.push(batch, 2 * i + 1, 2 * i + 2, origin);
    let drained = 0;
    b.drain(() => drained++);
    expect(drained).toBe(150_000);
    expect(b.empty).toBe(true);
  });

  it('joins batches that say they are not concat-spreadable, or have holes, message by message', () => {
    const origin = {} as ProducerSlot<number | undefined>;
    const b = new Backlog<number | undefined>();
    const first = Object.assign([1, 2, 3], { [Symbol.isConcatSpreadable]: false });
    const second = Object.assign([4, 5], { [Symbol.isConcatSpreadable]: false });
    b.push(first, 0, 3, origin);
    b.push(second, 0, 2, origin);
    expect(b.shift(10)).toEqual([1, 2, 3, 4, 5]);
    // biome-ignore lint/suspicious/noSparseArray: a batch with a hole, as a producer may build one
    const holey = [1, , 3];
    b.push(holey, 0, 3, origin);
    b.push([4], 0, 1, origin);
    const out = b.shift(10);
    let visited = 0;
    for (const _ of out) visited++;
    expect(visited).toBe(4);
    expect(out.length).toBe(4);
    // A subclass whose species builds frozen arrays: joined by hand into a plain array, not through it.
    class Frozen<X> extends Array<X> {
      static override get [Symbol.species](): ArrayConstructor {
        return function (this: unknown, n: number) {
          return Object.freeze(new Array(n));
        } as unknown as ArrayConstructor;
      }
    }
    const frozen = Frozen.from([1, 2, 3]) as unknown as (number | undefined)[];
    b.push(frozen, 1, 3, origin);
    b.push([4], 0, 1, origin);
    expect(b.shift(10)).toEqual([2, 3, 4]);
  });
});
