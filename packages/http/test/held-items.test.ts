import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HeldItems } from '../src/deliverer/held-items.js';
import type { DeliveryItem } from '../src/delivery/types.js';

const item = (id: string): DeliveryItem => ({ id, url: 'http://127.0.0.1:9/', body: Buffer.alloc(0) });

describe('HeldItems', () => {
  it('hands every item once, in due-time order, none before its time (property, against a sorted list)', async () => {
    const seed =
      process.env.Q_MODEL_SEED === undefined
        ? Date.now() ^ (Math.random() * 2 ** 31)
        : Number(process.env.Q_MODEL_SEED);
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.integer({ min: -50, max: 60 }), fc.boolean()), { minLength: 1, maxLength: 40 }),
          async (entries) => {
            const handed: { seq: number; at: number }[] = [];
            const dues = new Map<number, number>();
            const held = new HeldItems((_item, seq) => handed.push({ seq, at: Date.now() }));
            const start = Date.now();
            // Some added at once, some after a first wait: the timer is re-armed for an earlier head.
            const later: number[] = [];
            entries.forEach(([offset, now], seq) => {
              dues.set(seq, start + offset);
              if (now) held.add(item(`i${seq}`), seq, start + offset);
              else later.push(seq);
            });
            await new Promise((r) => setTimeout(r, 5));
            for (const seq of later) held.add(item(`i${seq}`), seq, dues.get(seq) as number);
            for (let i = 0; i < 100 && handed.length < entries.length; i++) await new Promise((r) => setTimeout(r, 5));
            expect(handed.map((h) => h.seq).sort((a, b) => a - b)).toEqual(entries.map((_, seq) => seq));
            for (const h of handed) expect(h.at).toBeGreaterThanOrEqual(dues.get(h.seq) as number);
            // Handed in due order, except that items added later may come after later-due ones handed already.
            const firstBatch = handed.filter((h) => !later.includes(h.seq) && (dues.get(h.seq) as number) <= start);
            const firstDues = firstBatch.map((h) => dues.get(h.seq) as number);
            expect(firstDues).toEqual([...firstDues].sort((a, b) => a - b));
            expect(held.size).toBe(0);
            held.clear();
          },
        ),
        { numRuns: 30, seed },
      );
    } catch (err) {
      console.error(`held items property failed: Q_MODEL_SEED=${seed}`);
      throw err;
    }
  }, 60_000);

  it('clear() drops what is held and its timer', async () => {
    const handed: number[] = [];
    const held = new HeldItems((_, seq) => handed.push(seq));
    held.add(item('a'), 1, Date.now() + 20);
    held.add(item('b'), 2, Date.now() + 10);
    held.clear();
    await new Promise((r) => setTimeout(r, 60));
    expect(handed).toEqual([]);
    expect(held.size).toBe(0);
  });

  it('items due at the same time go in seq order, whatever order they were added in (a parked key keeps its order)', async () => {
    const handed: number[] = [];
    const held = new HeldItems((_, seq) => handed.push(seq));
    const due = Date.now() + 10;
    for (const seq of [5, 3, 9, 1, 7, 2, 8, 4, 6, 0]) held.add(item(`i${seq}`), seq, due);
    held.add(item('early'), 10, due - 5);
    await new Promise((r) => setTimeout(r, 60));
    expect(handed).toEqual([10, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('a keyed item never goes before one of its key added before it, even when due earlier', async () => {
    const handed: string[] = [];
    const held = new HeldItems((it) => handed.push(it.id));
    const now = Date.now();
    const keyed = (id: string) => ({ ...item(id), key: 'k' });
    held.add(keyed('k1'), 1, now + 30);
    held.add(keyed('k2'), 2, now);
    held.add(item('free'), 3, now);
    expect(held.holds('k')).toBe(true);
    await new Promise((r) => setTimeout(r, 80));
    expect(handed).toEqual(['free', 'k1', 'k2']);
    expect(held.holds('k')).toBe(false);
  });

  it("takeKeys() takes a key's items in the order they were added, and the others stay", async () => {
    const handed: string[] = [];
    const held = new HeldItems((it) => handed.push(it.id));
    const due = Date.now() + 20;
    held.add({ ...item('a2'), key: 'a' }, 4, due);
    held.add({ ...item('b1'), key: 'b' }, 5, due);
    held.add({ ...item('a3'), key: 'a' }, 6, due);
    expect(held.takeKeys(new Set(['a'])).map((h) => h.item.id)).toEqual(['a2', 'a3']);
    expect(held.holds('a')).toBe(false);
    await new Promise((r) => setTimeout(r, 60));
    expect(handed).toEqual(['b1']);
  });
});
