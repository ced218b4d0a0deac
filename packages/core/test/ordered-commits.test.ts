/**
 * OrderedCommits (@q/core/internal) against a model: entries 0..n-1 tracked in order, settled in a
 * random interleaving with more tracking; after every step the watermark (one past lastSettled) is
 * exactly the lowest unsettled tracked position, never moves back and never passes an unsettled one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OrderedCommits } from '../src/internal.js';

interface Entry {
  readonly pos: number;
  done: boolean;
}

type Step =
  | { readonly op: 'track'; readonly count: number; readonly settled: boolean }
  | { readonly op: 'settle'; readonly pick: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant('track' as const), count: fc.integer({ min: 1, max: 5 }), settled: fc.boolean() }),
  fc.record({ op: fc.constant('settle' as const), pick: fc.nat() }),
);

describe('OrderedCommits', () => {
  it('keeps the watermark at the lowest unsettled entry through any interleaving (model)', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 200 }), (steps) => {
        const commits = new OrderedCommits<Entry>(8);
        const entries: Entry[] = [];
        const settled = new Set<number>();
        let previous = 0;
        const watermark = () => {
          const last = commits.lastSettled;
          return last === undefined ? 0 : last.pos + 1;
        };
        for (const s of steps) {
          if (s.op === 'track') {
            for (let i = 0; i < s.count; i++) {
              // An entry known settled before it is tracked (an offset map's) counts as settled.
              const entry: Entry = { pos: entries.length, done: s.settled && i === 0 };
              if (entry.done) settled.add(entry.pos);
              entries.push(entry);
              commits.track(entry);
            }
          } else {
            const open = entries.filter((e) => !settled.has(e.pos));
            if (open.length === 0) continue;
            const entry = open[s.pick % open.length] as Entry;
            const lowest = open[0] as Entry;
            settled.add(entry.pos);
            expect(commits.settle(entry)).toBe(entry === lowest);
            expect(commits.settle(entry)).toBe(false); // twice: nothing more
          }
          let lowestUnsettled = entries.length;
          for (const e of entries) {
            if (!settled.has(e.pos)) {
              lowestUnsettled = e.pos;
              break;
            }
          }
          const w = watermark();
          expect(w).toBe(lowestUnsettled);
          expect(w).toBeGreaterThanOrEqual(previous);
          previous = w;
          expect(commits.head?.pos).toBe(lowestUnsettled < entries.length ? lowestUnsettled : undefined);
          expect(commits.pending).toBe(entries.length - w);
          for (let i = 0; i < commits.pending; i++) expect(commits.at(i)?.pos).toBe(w + i);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('moves past a run settled behind a slow head only once the head settles', () => {
    const commits = new OrderedCommits<Entry>();
    const [a, b, c] = [0, 1, 2].map((pos) => ({ pos, done: false }));
    for (const e of [a, b, c] as Entry[]) commits.track(e);
    expect(commits.settle(c as Entry)).toBe(false);
    expect(commits.settle(b as Entry)).toBe(false);
    expect(commits.lastSettled).toBeUndefined();
    expect(commits.settle(a as Entry)).toBe(true);
    expect(commits.lastSettled).toBe(c);
    expect(commits.pending).toBe(0);
    expect(commits.head).toBeUndefined();
  });
});
