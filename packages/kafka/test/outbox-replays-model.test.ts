import { OUTBOX_ID_HEADER } from '@q/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FetchedRecord } from '../src/client.js';
import type { Ordering } from '../src/kafka-queue-config.js';
import { PartitionTracker, type TrackedMessage } from '../src/offset-tracker.js';
import { OutboxReplayFilter, type ReplayCounter } from '../src/outbox-replays.js';
import { trackBatch } from '../src/track-batch.js';

/**
 * `dedupe: 'outbox-id'` as the fetch path runs it (trackBatch over a partition's tracker, fetched in
 * random batches, in every ordering mode) against two models: the rule itself, and the traffic an
 * outbox really makes (one batch in flight, retried whole, each partition's part written all or
 * nothing), where the property that matters is "every message written reaches the handler once".
 */

const PARTITIONS = 3;

/** A record's `q-outbox-id`: an outbox id, something else, or none. */
type Header = { outbox: string; seq: number } | 'junk' | undefined;

interface Written {
  readonly partition: number;
  readonly header: Header;
}

const header: fc.Arbitrary<Header> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ outbox: fc.constantFrom('a', 'b', 'c'), seq: fc.integer({ min: 0, max: 30 }) }) },
  { weight: 1, arbitrary: fc.constant('junk' as const) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

const ordering = fc.constantFrom<Ordering>('partition', 'key', 'unordered');

function headersOf(h: Header): Record<string, Buffer> | undefined {
  if (h === undefined) return undefined;
  return { [OUTBOX_ID_HEADER]: Buffer.from(h === 'junk' ? 'no-seq-here' : `${h.outbox}:${h.seq}`) };
}

/** The outbox id of the record at `offset` of partition `p` of `log` (the tests only write ids there). */
function idAt(log: readonly Written[], p: number, offset: number): { outbox: string; seq: number } {
  const h = log.filter((w) => w.partition === p)[offset]?.header;
  if (h === undefined || h === 'junk') throw new Error(`no outbox id at ${p}/${offset}`);
  return h;
}

/**
 * Feeds each partition's records through trackBatch, `fetchSizes` at a time (cycled), settles what is
 * handed out, and returns per partition the offsets handed out, with the drops counted.
 */
function consume(
  log: readonly Written[],
  mode: Ordering,
  fetchSizes: readonly number[],
): { delivered: Map<number, number[]>; dropped: number; trackers: PartitionTracker[] } {
  const counter: ReplayCounter = { dropped: 0 };
  const delivered = new Map<number, number[]>();
  const trackers: PartitionTracker[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    const tracker = new PartitionTracker('t', p, p);
    tracker.replays = new OutboxReplayFilter(counter);
    trackers.push(tracker);
    const records: FetchedRecord[] = log
      .filter((w) => w.partition === p)
      .map((w, offset) => ({
        offset: String(offset),
        key: Buffer.from(`k${offset % 4}`),
        value: null,
        headers: headersOf(w.header),
        timestamp: '0',
      }));
    const out: number[] = [];
    for (let at = 0, i = 0; at < records.length; i++) {
      const size = Math.max(1, fetchSizes[i % fetchSizes.length] ?? 1);
      const entries: TrackedMessage[] = trackBatch(tracker, records.slice(at, at + size), mode);
      at += size;
      for (const m of entries) {
        out.push(Number(m.offset));
        tracker.settle(m);
      }
    }
    // Key mode hands a batch out regrouped; the decisions were made in offset order all the same.
    delivered.set(
      p,
      out.sort((x, y) => x - y),
    );
    // Dropped replays are settled: with everything handed out settled, the commit reaches the end.
    if (records.length > 0) expect(tracker.commitPoint()).toBe(BigInt(records.length));
  }
  return { delivered, dropped: counter.dropped, trackers };
}

describe("dedupe 'outbox-id' (model-based)", () => {
  it('hands out exactly what the rule says: no valid id, or a sequence above the highest seen for (partition, outbox)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ partition: fc.integer({ min: 0, max: PARTITIONS - 1 }), header }), { maxLength: 300 }),
        ordering,
        fc.array(fc.integer({ min: 1, max: 25 }), { minLength: 1, maxLength: 10 }),
        (log, mode, fetchSizes) => {
          const { delivered, dropped } = consume(log, mode, fetchSizes);
          let expectedDrops = 0;
          for (let p = 0; p < PARTITIONS; p++) {
            const highest = new Map<string, number>();
            const want: number[] = [];
            const records = log.filter((w) => w.partition === p);
            for (let offset = 0; offset < records.length; offset++) {
              const h = (records[offset] as Written).header;
              if (h === undefined || h === 'junk') {
                want.push(offset);
                continue;
              }
              const max = highest.get(h.outbox);
              if (max !== undefined && h.seq <= max) {
                expectedDrops++;
                continue;
              }
              highest.set(h.outbox, h.seq);
              want.push(offset);
            }
            expect(delivered.get(p)).toEqual(want);
          }
          expect(dropped).toBe(expectedDrops);
        },
      ),
      { numRuns: 300 },
    );
  });

  /**
   * Outbox traffic: each step, one outbox makes one attempt at its batch in flight. The attempt
   * writes each partition's part of the batch whole or not at all (random), and is confirmed only
   * when every part was written and the answer arrived (random); otherwise the same batch is tried
   * again. A message's partition is fixed by its key.
   */
  interface Outbox {
    readonly name: string;
    readonly batches: { seq: number; partition: number }[][];
    next: number;
  }

  const traffic = fc.record({
    outboxes: fc.array(
      fc.array(
        fc.array(
          fc.record({ gap: fc.integer({ min: 1, max: 3 }), partition: fc.integer({ min: 0, max: PARTITIONS - 1 }) }),
          {
            minLength: 1,
            maxLength: 6,
          },
        ),
        { minLength: 1, maxLength: 8 },
      ),
      { minLength: 1, maxLength: 4 },
    ),
    // Per attempt: which outbox goes, which parts get written, and whether the answer is lost.
    steps: fc.array(fc.record({ pick: fc.nat(), written: fc.nat(), answerLost: fc.boolean() }), { maxLength: 400 }),
  });

  it('outbox traffic with replays: every message written reaches the handler exactly once, in sequence order per partition', () => {
    fc.assert(
      fc.property(
        traffic,
        ordering,
        fc.array(fc.integer({ min: 1, max: 25 }), { minLength: 1, maxLength: 10 }),
        (t, mode, fetchSizes) => {
          const outboxes: Outbox[] = t.outboxes.map((spec, i) => {
            let seq = 0;
            return {
              name: `ob${i}`,
              batches: spec.map((batch) => batch.map(({ gap, partition }) => ({ seq: (seq += gap), partition }))),
              next: 0,
            };
          });
          const log: Written[] = [];
          const attempt = (outbox: Outbox, written: number, answerLost: boolean): void => {
            const batch = outbox.batches[outbox.next] as { seq: number; partition: number }[];
            let all = true;
            for (let p = 0; p < PARTITIONS; p++) {
              const part = batch.filter((m) => m.partition === p);
              if (part.length === 0) continue;
              // Bit p of `written`: this partition's records went in together, or none of them.
              if ((written >> p) & 1)
                for (const m of part) log.push({ partition: p, header: { outbox: outbox.name, seq: m.seq } });
              else all = false;
            }
            if (all && !answerLost) outbox.next++;
          };
          for (const s of t.steps) {
            const live = outboxes.filter((o) => o.next < o.batches.length);
            const outbox = live[s.pick % live.length];
            if (outbox !== undefined) attempt(outbox, s.written, s.answerLost);
          }
          // Then every outbox gets through (a healthy sink), so each message is written at least once.
          for (const o of outboxes) while (o.next < o.batches.length) attempt(o, -1, false);

          const { delivered } = consume(log, mode, fetchSizes);
          for (let p = 0; p < PARTITIONS; p++) {
            const got = (delivered.get(p) ?? []).map((offset) => idAt(log, p, offset));
            for (const o of outboxes) {
              const mine = got.filter((h) => h.outbox === o.name).map((h) => h.seq);
              const sent = o.batches
                .flat()
                .filter((m) => m.partition === p)
                .map((m) => m.seq);
              // Once each, none missing, and in sequence order.
              expect(mine).toEqual(sent);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('why a message must keep its partition on every replay: a keyless message moved by round-robin can be lost', () => {
    // Batch 1..4, keyless: the first attempt puts 1, 3 on partition 0 (written) and 2, 4 on partition 1
    // (refused). The retry's round-robin starts elsewhere: 2, 4 on partition 0 and 1, 3 on partition 1.
    const log: Written[] = [
      ...[1, 3].map((seq) => ({ partition: 0, header: { outbox: 'a', seq } })),
      ...[2, 4].map((seq) => ({ partition: 0, header: { outbox: 'a', seq } })),
      ...[1, 3].map((seq) => ({ partition: 1, header: { outbox: 'a', seq } })),
    ];
    const { delivered } = consume(log, 'partition', [10]);
    const seqs = [0, 1].flatMap((p) => (delivered.get(p) ?? []).map((o) => idAt(log, p, o).seq));
    // 2 is dropped on partition 0 (3 was seen there) and was never written anywhere else.
    expect(seqs.sort()).toEqual([1, 1, 3, 3, 4]);
  });
});
