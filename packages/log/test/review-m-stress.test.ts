// Review stress: concurrent mixed-size appends with a small fill window, rolls, reopen; ENOSPC with the fill.
import { mkdirSync, readdirSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LogFullError, openLog, type SegmentLog } from '@q/log';
import { afterAll, describe, expect, it } from 'vitest';
import { mountSmallTmpfs } from '../../../test-support/small-tmpfs.js';
import { readIndexFile } from '../src/segment-index.js';
import { silent, tempLogDir } from './support/log-dir.js';

const tmpfs = mountSmallTmpfs('q-log-review-m-stress', 2);
afterAll(() => tmpfs.dispose());

function rnd(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s % n;
  };
}
const bodyFor = (id: number, size: number) => {
  const b = Buffer.alloc(size, (id * 31 + 7) & 0xff);
  b.writeUInt32LE(id >>> 0, 0);
  return b;
};

async function all(log: SegmentLog) {
  const out = new Map<number, Buffer>();
  for (let from = log.firstSeq; from < log.nextSeq; ) {
    const batch = await log.read(from, { max: 500 });
    for (const r of batch) out.set(r.seq, r.body);
    from += batch.length;
  }
  return out;
}

async function checkSeals(dir: string) {
  const segDir = join(dir, 'segments');
  const segs = readdirSync(segDir)
    .filter((f) => f.endsWith('.seg'))
    .sort();
  for (const s of segs.slice(0, -1)) {
    const idx = await readIndexFile(join(segDir, s.replace(/\.seg$/, '.idx')));
    expect(idx.seal?.size, s).toBe(statSync(join(segDir, s)).size);
  }
}

describe('review-m stress', () => {
  it('concurrent mixed appends with a 16 KiB window, rolls, closes: every acked record intact, seals match', async () => {
    const dir = tempLogDir();
    const options = { sync: 'always' as const, segmentBytes: 96 * 1024, preallocateBytes: 16 * 1024, logger: silent };
    const r = rnd(12345);
    const acked = new Map<number, Buffer>();
    let id = 0;
    for (let round = 0; round < 4; round++) {
      const log = await openLog({ dir, ...options });
      await Promise.all(
        Array.from({ length: 12 }, async () => {
          for (let i = 0; i < 60; i++) {
            const size = r(5) === 0 ? 1500 + r(6000) : 4 + r(300);
            const b = bodyFor(id++, size);
            if (r(7) === 0) {
              const bs = [b, bodyFor(id++, 4 + r(100))];
              const seqs = (await log.appendBatch(bs)) as unknown as number[];
              acked.set(seqs[0] as number, bs[0] as Buffer);
              acked.set(seqs[1] as number, bs[1] as Buffer);
            } else acked.set(await log.append(b), b);
          }
        }),
      );
      await log.close();
      await checkSeals(dir);
    }
    const log = await openLog({ dir, ...options });
    expect(log.recovery.truncatedBytes).toBe(0);
    const got = await all(log);
    await log.close();
    expect(got.size).toBe(acked.size);
    for (const [seq, b] of acked) expect(got.get(seq)?.equals(b), `seq ${seq}`).toBe(true);
  }, 20_000);

  it.skipIf(tmpfs.skipReason !== undefined)(
    'ENOSPC with the fill: every acked record survives; seals match; reopen clean',
    async () => {
      const dir = join(tmpfs.dir, 'log');
      mkdirSync(dir);
      const { bavail, bsize } = statfsSync(tmpfs.dir);
      writeFileSync(join(tmpfs.dir, 'filler'), Buffer.alloc(bavail * bsize - 600 * 1024, 1));
      const options = {
        sync: 'always' as const,
        segmentBytes: 128 * 1024,
        preallocateBytes: 64 * 1024,
        logger: silent,
      };
      const log = await openLog({ dir, ...options });
      const r = rnd(777);
      const acked = new Map<number, Buffer>();
      let id = 0;
      let fulls = 0;
      await Promise.all(
        Array.from({ length: 6 }, async () => {
          for (let i = 0; i < 600 && fulls < 30; i++) {
            const b = bodyFor(id++, r(4) === 0 ? 3000 + r(3000) : 10 + r(500));
            try {
              acked.set(await log.append(b), b);
            } catch (e) {
              expect(e).toBeInstanceOf(LogFullError);
              fulls++;
            }
          }
        }),
      );
      expect(fulls).toBeGreaterThan(0);
      console.log('acked', acked.size, 'fulls', fulls);
      const got0 = await all(log);
      for (const [seq, b] of acked) expect(got0.get(seq)?.equals(b), `live seq ${seq}`).toBe(true);
      await log.close();
      await checkSeals(dir);
      rmSync(join(tmpfs.dir, 'filler'));
      const again = await openLog({ dir, ...options });
      expect(again.recovery.truncatedBytes).toBe(0);
      const got = await all(again);
      await again.close();
      expect(got.size).toBe(acked.size);
      for (const [seq, b] of acked) expect(got.get(seq)?.equals(b), `seq ${seq}`).toBe(true);
    },
    20_000,
  );
});
