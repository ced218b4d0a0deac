// Power loss by file surgery. A writer appends with sync 'always' and records its synced
// high-water mark (durableSeq and the segment's size after the append resolved); then it appends
// records a power cut could still lose. The test cuts the last segment where an unsynced page cache
// may have left it: at random points at or after the mark, with nothing, a run of 0x00 (a file
// extended but never written) or of 0xFF after the cut, and at every byte of the last record with
// an 0xFF tail. Each reopen must keep every record that ends at or before the cut (so everything
// up to the mark), with its body, and nothing torn; it reports what it cut, and the next append
// continues right after the kept records and survives another reopen.
// Q_LOG_POWER_SEED=<n> replays one seed (each test prints its own).
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLog } from '@q/log';
import { afterAll, describe, expect, it } from 'vitest';

const base = mkdtempSync(join(tmpdir(), 'q-log-power-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** A small seeded generator (mulberry32), so a failing seed replays. */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n);
  };
}

const bodyOf = (i: number, size: number): Buffer => {
  const b = Buffer.alloc(size);
  for (let k = 0; k < size; k++) b[k] = (i * 7 + k) & 0xff;
  return b;
};

function lastSegment(dir: string): string {
  const segs = readdirSync(join(dir, 'segments'))
    .filter((f) => f.endsWith('.seg'))
    .sort();
  return join(dir, 'segments', segs[segs.length - 1] as string);
}

interface Written {
  dir: string;
  bodies: Buffer[];
  /** The synced high-water mark: records [0, markSeq) are durable, the last segment then had markSize bytes. */
  markSeq: number;
  markSize: number;
  /** Per record after the mark, the last segment's size once its append resolved (its end). */
  ends: { seq: number; end: number }[];
  segment: string;
}

async function write(name: string, random: (n: number) => number, segmentBytes?: number): Promise<Written> {
  const dir = join(base, name);
  // Appending, not zero-filled: the file's size is where the data ends (zero-fill.test.ts covers the other).
  const log = await openLog({ dir, sync: 'always', preallocateBytes: 0, ...(segmentBytes ? { segmentBytes } : {}) });
  const bodies: Buffer[] = [];
  for (let i = 0; i < 120; i++) {
    const body = bodyOf(i, random(4) === 0 ? 0 : 1 + random(segmentBytes ? 400 : 2000));
    bodies.push(body);
    expect(await log.append(body, { headers: i % 5 === 0 ? { id: `m${i}` } : {} })).toBe(i);
  }
  const markSeq = log.durableSeq;
  const segment = lastSegment(dir);
  const markSize = statSync(segment).size;
  expect(markSeq).toBe(120);
  const ends: Written['ends'] = [];
  for (let i = 120; i < 140; i++) {
    // The last record is short, so cutting at each of its bytes stays cheap.
    const body = bodyOf(i, i === 139 ? 64 : 1 + random(300));
    bodies.push(body);
    const seq = await log.append(body);
    ends.push({ seq, end: statSync(segment).size });
  }
  expect(lastSegment(dir)).toBe(segment);
  await log.close();
  return { dir, bodies, markSeq, markSize, ends, segment };
}

/** Copies the log, cuts its last segment at `cut`, appends `tail`, reopens and checks it. */
async function cutAndReopen(w: Written, caseName: string, cut: number, tail: Buffer): Promise<void> {
  const dir = join(base, caseName);
  cpSync(w.dir, dir, { recursive: true, filter: (src) => !src.endsWith('LOCK') });
  const segment = join(dir, 'segments', w.segment.slice(w.segment.lastIndexOf('/') + 1));
  truncateSync(segment, cut);
  if (tail.length > 0) writeFileSync(segment, tail, { flag: 'a' });
  const keptEnd = Math.max(w.markSize, ...w.ends.filter((e) => e.end <= cut).map((e) => e.end));
  const kept = w.markSeq + w.ends.filter((e) => e.end <= cut).length;
  const where = `${caseName}: cut at ${cut} (mark ${w.markSize}) + ${tail.length} bytes of 0x${(tail[0] ?? 0).toString(16)}`;
  try {
    const warnings: unknown[] = [];
    const infos: unknown[] = [];
    const logger = {
      error: () => {},
      warn: (fields: unknown) => warnings.push(fields),
      info: (fields: unknown) => infos.push(fields),
      debug: () => {},
    };
    // The writer appended (its segments are not marked zero-filled): zeros after the kept records are a
    // torn tail like any other, a warning.
    const log = await openLog({ dir, sync: 'always', logger });
    try {
      expect(log.recovery.truncatedBytes, where).toBe(cut + tail.length - keptEnd);
      // A cut is reported, not only done.
      expect(warnings.length, where).toBe(log.recovery.truncatedBytes > 0 ? 1 : 0);
      expect(infos, where).toEqual([]);
      expect(log.firstSeq, where).toBe(0);
      expect(log.nextSeq, where).toBe(kept);
      expect(log.durableSeq, where).toBe(kept);
      const records = await log.read(0, { max: 1000 });
      expect(
        records.map((r) => r.seq),
        where,
      ).toEqual([...Array(kept).keys()]);
      for (const r of records) expect(r.body.equals(w.bodies[r.seq] as Buffer), `${where}, seq ${r.seq}`).toBe(true);
      expect(await log.append('after the cut'), where).toBe(kept);
    } finally {
      await log.close();
    }
    const again = await openLog({ dir, sync: 'always' });
    try {
      expect(again.recovery.truncatedBytes, where).toBe(0);
      expect(again.nextSeq, where).toBe(kept + 1);
      const [last] = await again.read(kept);
      expect(last?.body.toString(), where).toBe('after the cut');
    } finally {
      await again.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const seedOf = (n: number): number => Number(process.env.Q_LOG_POWER_SEED ?? n);

describe('SegmentLog after a simulated power loss', () => {
  for (const [name, segmentBytes] of [
    ['one segment', undefined],
    ['the last of several segments', 16 * 1024],
  ] as const) {
    it(`${name}: cut at random points at or after the synced mark, with and without 0x00 / 0xFF tails`, async () => {
      const seed = seedOf(Math.floor(Math.random() * 2 ** 31));
      console.log(`${name}: Q_LOG_POWER_SEED=${seed}`);
      const random = prng(seed);
      const w = await write(`src-${segmentBytes ?? 0}`, random, segmentBytes);
      const end = w.ends[w.ends.length - 1]?.end ?? 0;
      const cuts = [w.markSize, end, ...Array.from({ length: 20 }, () => w.markSize + random(end - w.markSize + 1))];
      let n = 0;
      for (const cut of cuts) {
        for (const fill of [undefined, 0x00, 0xff]) {
          const tail = fill === undefined ? Buffer.alloc(0) : Buffer.alloc(1 + random(5000), fill);
          await cutAndReopen(w, `case-${segmentBytes ?? 0}-${n++}`, cut, tail);
        }
      }
      if (segmentBytes)
        expect(readdirSync(join(w.dir, 'segments')).filter((f) => f.endsWith('.seg')).length).toBeGreaterThan(1);
    }, 60_000);
  }

  it('cut at every byte of the last record, each followed by 0xFF garbage', async () => {
    const seed = seedOf(Math.floor(Math.random() * 2 ** 31));
    console.log(`every byte: Q_LOG_POWER_SEED=${seed}`);
    const random = prng(seed);
    const w = await write('src-every-byte', random);
    const last = w.ends[w.ends.length - 1]?.end ?? 0;
    const start = w.ends[w.ends.length - 2]?.end ?? 0;
    expect(last - start).toBeGreaterThan(64);
    for (let cut = start; cut <= last; cut++) {
      await cutAndReopen(w, `byte-${cut}`, cut, Buffer.alloc(1 + random(64), 0xff));
    }
  }, 60_000);
});
