import { describe, expect, it } from 'vitest';
import { PartitionTracker, type TrackedMessage } from '../src/offset-tracker.js';

const record = (offset: number) => ({ offset: String(offset), key: null, value: null, timestamp: '0' });

describe('PartitionTracker', () => {
  it('commits up to the first unsettled message, whatever order messages finish in, across offset gaps', () => {
    const t = new PartitionTracker('t', 0);
    // Offsets 10-12, then a gap (compacted away), then 20-21.
    const [a, b, c, d, e] = [10, 11, 12, 20, 21].map((o) => t.add(record(o)));
    expect(t.commitPoint()).toBeUndefined();
    t.settle(c as TrackedMessage);
    t.settle(b as TrackedMessage);
    expect(t.commitPoint()).toBeUndefined(); // 10 still running
    t.settle(a as TrackedMessage);
    expect(t.commitPoint()).toBe(13n); // never past 20, which is unsettled
    expect(t.pending).toBe(2);
    t.settle(e as TrackedMessage);
    expect(t.commitPoint()).toBe(13n);
    t.settle(d as TrackedMessage);
    expect(t.commitPoint()).toBe(22n);
    expect(t.pending).toBe(0);
  });

  it('drops the copies of a re-fetch (a client re-seek to the last commit), per batch', () => {
    const t = new PartitionTracker('t', 0);
    const first = [10, 11, 12, 13].map(record);
    expect(t.unseen(first)).toBe(first); // nothing seen yet: the same array, no copy
    const again = [11, 12, 13, 14, 15].map(record);
    expect(t.unseen(again).map((r) => r.offset)).toEqual(['14', '15']);
    expect(t.unseen([12, 13].map(record))).toEqual([]);
    const next = [16, 17].map(record);
    expect(t.unseen(next)).toBe(next);
  });
});
