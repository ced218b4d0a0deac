/**
 * Recovery of a zero-filled segment against a simple model, with fast-check: random groups (each one
 * `appendBatch`, one write) of random records, the directory copied as a crash leaves it, then
 *
 * - a power loss during the last write: some of its 512-byte blocks never reached the disk (their part
 *   of the write reads as the zeros that were there). The log must open, keep every record of the
 *   earlier (acknowledged) groups with its bytes, and no record that is not whole;
 * - damage to an acknowledged group before the last one (a block of it zeroed): the log must refuse to
 *   open with `LogCorruptionError`, never cut acknowledged records as if they were a torn write.
 *
 *   Q_LOG_ZERO_MODEL_RUNS=2000 vitest run packages/log/test/zero-fill-model.test.ts
 *   Q_LOG_ZERO_MODEL_SEED=<seed> vitest run ...      replays a failure (printed)
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { LogCorruptionError, openLog } from '@q/log';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lastSegment, silent, tempLogDir } from './support/log-dir.js';

const RUNS = Number(process.env.Q_LOG_ZERO_MODEL_RUNS ?? 60);
const SEED = Number(process.env.Q_LOG_ZERO_MODEL_SEED ?? Math.floor(Math.random() * 2 ** 31));
const BLOCK = 512;

/** Body `k` of group `g`: never zero bytes, so only a hole makes zeros. */
const body = (g: number, k: number, size: number) => Buffer.alloc(size, 1 + ((g * 31 + k) % 250));

/** Writes the groups, copies the directory as a crash leaves it; returns the copy and each group's byte range. */
async function crashAfter(groups: number[][]) {
  const dir = tempLogDir();
  const log = await openLog({ dir, sync: 'always', logger: silent, preallocateBytes: 64 * 1024 });
  const ranges: { start: number; end: number; firstSeq: number; count: number }[] = [];
  let offset = 16;
  let seq = 0;
  for (const [g, sizes] of groups.entries()) {
    await log.appendBatch(sizes.map((size, k) => body(g, k, size)));
    const start = offset;
    for (const size of sizes) offset += 30 + size;
    ranges.push({ start, end: offset, firstSeq: seq, count: sizes.length });
    seq += sizes.length;
  }
  const copy = tempLogDir();
  cpSync(dir, copy, { recursive: true, filter: (src) => !src.endsWith('LOCK') });
  await log.close();
  return { copy, ranges, total: seq };
}

const groupsArb = fc.array(fc.array(fc.integer({ min: 0, max: 2500 }), { minLength: 1, maxLength: 12 }), {
  minLength: 2,
  maxLength: 8,
});

describe('zero-filled segment recovery against a model', () => {
  it(`${RUNS} runs: a torn last write opens with every acknowledged record; damage before it refuses`, async () => {
    console.log(`Q_LOG_ZERO_MODEL_SEED=${SEED}`);
    await fc.assert(
      fc.asyncProperty(
        groupsArb,
        fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
        fc.nat(),
        async (groups, holes, at) => {
          const { copy, ranges, total } = await crashAfter(groups);
          // The damage case below starts from the same crash, not from what this open repaired.
          const copy2 = tempLogDir();
          cpSync(copy, copy2, { recursive: true });
          const path = lastSegment(copy);
          const file = readFileSync(path);
          const last = ranges.at(-1) as (typeof ranges)[number];
          const acked = last.firstSeq;

          // A power loss during the last write: some of its blocks kept as they were (zeros there).
          const torn = Buffer.from(file);
          const firstBlock = Math.floor(last.start / BLOCK);
          const blocks = Math.ceil(last.end / BLOCK) - firstBlock;
          for (const h of holes) {
            const b = (firstBlock + (h % blocks)) * BLOCK;
            torn.fill(0, Math.max(b, last.start), Math.min(b + BLOCK, last.end));
          }
          writeFileSync(path, torn);
          const log = await openLog({ dir: copy, logger: silent });
          try {
            expect(log.nextSeq).toBeGreaterThanOrEqual(acked);
            expect(log.nextSeq).toBeLessThanOrEqual(total);
            const records = await log.read(0, { max: total + 1, maxBytes: 64 * 1024 * 1024 });
            expect(records.map((r) => r.seq)).toEqual([...Array(log.nextSeq).keys()]);
            for (const [g, r] of ranges.entries())
              for (let k = 0; k < r.count && r.firstSeq + k < log.nextSeq; k++)
                expect(
                  (records[r.firstSeq + k] as { body: Buffer }).body.equals(body(g, k, groups[g]?.[k] as number)),
                ).toBe(true);
          } finally {
            await log.close();
          }

          // Damage to an acknowledged group before the last one: a whole block of it zeroed.
          const victim = ranges[at % (ranges.length - 1)] as (typeof ranges)[number];
          const blockEnds = Math.floor(last.start / BLOCK) * BLOCK;
          const from = Math.ceil(victim.start / BLOCK) * BLOCK;
          if (from + BLOCK > Math.min(victim.end + BLOCK, blockEnds)) return; // no block lies there whole
          const damaged = Buffer.from(file);
          const span = Math.floor((Math.min(victim.end + BLOCK, blockEnds) - from) / BLOCK);
          const b = from + (at % span) * BLOCK;
          damaged.fill(0, b, b + BLOCK);
          writeFileSync(lastSegment(copy2), damaged);
          const opening = openLog({ dir: copy2, logger: silent });
          await expect(opening).rejects.toBeInstanceOf(LogCorruptionError);
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  }, 120_000);
});
