import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FetchedRecord } from '../src/client.js';
import { OffsetSkipSet } from '../src/offset-map.js';
import { PartitionTracker, type PendingCommit, type TrackedMessage } from '../src/offset-tracker.js';

/**
 * The tracker and the offset map against a simple model: a log of offsets (with gaps, as compaction
 * leaves them), random fetches, settlements in any order, commits, and restarts from the last
 * commit. The model is sets of offsets: what the current reader knows to be settled, and what the
 * last commit said was settled above its offset.
 */

type Op =
  | { type: 'fetch'; count: number }
  | { type: 'settle'; pick: number }
  | { type: 'commit' }
  | { type: 'restart' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 40 }).map((count) => ({ type: 'fetch' as const, count })) },
  { weight: 6, arbitrary: fc.nat().map((pick) => ({ type: 'settle' as const, pick })) },
  { weight: 2, arbitrary: fc.constant({ type: 'commit' as const }) },
  { weight: 1, arbitrary: fc.constant({ type: 'restart' as const }) },
);

/** Increasing offsets from 0 with gaps of 0 to 3 missing offsets. */
const log = fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 300, size: 'max' }).map((gaps) => {
  const out: number[] = [];
  let at = 0;
  for (const gap of gaps) {
    at += gap;
    out.push(at++);
  }
  return out;
});

const record = (offset: number): FetchedRecord => ({ offset: String(offset), key: null, value: null, timestamp: '0' });

interface Commit {
  offset: bigint;
  metadata: string | undefined;
  /** What the reader knew to be settled at or above the commit point when it committed. */
  settledAbove: Set<number>;
}

function run(offsets: number[], ops: Op[], budget: number): void {
  /** Every offset any handler ever finished: nothing outside it may be skipped or committed past. */
  const settledEver = new Set<number>();
  let committed: Commit = { offset: 0n, metadata: undefined, settledAbove: new Set() };
  // One reader generation: its tracker, fetch position, open messages, and what it knows is settled.
  let tracker = new PartitionTracker('t', 0);
  let next = 0;
  let open: TrackedMessage[] = [];
  let known = new Set<number>();
  /** The set the current generation started from (decoded from the commit it restarted at). */
  let skip: OffsetSkipSet | undefined;

  const fetch = (count: number): void => {
    for (let i = 0; i < count && next < offsets.length; i++, next++) {
      const o = offsets[next] as number;
      if (tracker.skipping && tracker.skips(record(o))) {
        // Skipped: must be what the commit's map said, and really settled.
        expect(skip?.has(o)).toBe(true);
        expect(settledEver.has(o)).toBe(true);
        continue;
      }
      expect(skip?.has(o) ?? false).toBe(false);
      open.push(tracker.add(record(o)));
    }
  };
  const commit = (): void => {
    const next = tracker.nextCommit(true, budget);
    if (next !== undefined) send(next);
    // And a commit is sent whenever it would say more: with room, everything this reader knows is
    // settled is covered by the last commit afterwards (below its offset, or in its map).
    if (budget >= 4096) {
      const covered = OffsetSkipSet.decode(committed.metadata, committed.offset);
      for (const o of known) if (BigInt(o) >= committed.offset) expect(covered?.has(o)).toBe(true);
    }
  };
  const send = (next: PendingCommit): void => {
    const { offset: point, metadata } = next;
    // Never past unfinished work, never backwards.
    for (const o of offsets) if (BigInt(o) < point) expect(settledEver.has(o)).toBe(true);
    expect(point).toBeGreaterThanOrEqual(committed.offset);
    const settledAbove = new Set([...known].filter((o) => BigInt(o) >= point));
    const decoded = OffsetSkipSet.decode(metadata, point);
    const got = offsets.filter((o) => decoded?.has(o));
    const want = offsets.filter((o) => settledAbove.has(o));
    // With room, the map says exactly what was settled above the point; without, a prefix of it.
    if (budget >= 4096) expect(got).toEqual(want);
    else expect(got).toEqual(want.slice(0, got.length));
    expect((metadata ?? '').length).toBeLessThanOrEqual(budget);
    committed = { offset: point, metadata, settledAbove };
    tracker.markCommitted(next);
  };
  const restart = (): void => {
    // A crash: open work is lost; the next reader starts at the commit, with its map.
    tracker = new PartitionTracker('t', 0);
    skip = OffsetSkipSet.decode(committed.metadata, committed.offset);
    if (skip !== undefined) tracker.skipSettled(skip);
    next = offsets.findIndex((o) => BigInt(o) >= committed.offset);
    if (next < 0) next = offsets.length;
    open = [];
    known = new Set(offsets.filter((o) => skip?.has(o)));
  };

  for (const o of ops) {
    if (o.type === 'fetch') fetch(o.count);
    else if (o.type === 'commit') commit();
    else if (o.type === 'restart') restart();
    else if (open.length > 0) {
      const [m] = open.splice(o.pick % open.length, 1) as [TrackedMessage];
      tracker.settle(m);
      settledEver.add(Number(m.offset));
      known.add(Number(m.offset));
    }
  }
  // Finish: skipped offsets count as settled, so once the rest is done the commit reaches the end.
  restart();
  fetch(offsets.length);
  for (const m of open) tracker.settle(m);
  const end = BigInt((offsets.at(-1) as number) + 1);
  if (committed.offset < end) expect(tracker.commitPoint()).toBe(end);
}

describe('offset tracker with the offset map (model-based)', () => {
  it('a restart skips exactly what was settled above the commit, and nothing unsettled', () => {
    fc.assert(
      fc.property(log, fc.array(op, { maxLength: 200, size: 'max' }), (offsets, ops) => run(offsets, ops, 4096)),
      { numRuns: 150 },
    );
  });

  it('with a tiny metadata budget it skips a prefix of that, and still nothing unsettled', () => {
    fc.assert(
      fc.property(log, fc.array(op, { maxLength: 200, size: 'max' }), (offsets, ops) => run(offsets, ops, 12)),
      { numRuns: 150 },
    );
  });
});
