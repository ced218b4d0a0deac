// The active segment zero-filled ahead of the writer (`preallocateBytes`, sync 'always'): the zeros
// are on disk while the log runs, cut at every seal and close, cut quietly by recovery after a crash,
// and a power loss that kept some pages of the last write and not others is a torn tail, not damage.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidOptionError } from '@q/core';
import { LogCorruptionError, openLog } from '@q/log';
import { describe, expect, it } from 'vitest';
import { bodyOf, crashCopy, lastSegment, silent, tempLogDir } from './support/log-dir.js';

const segFiles = (dir: string) =>
  readdirSync(join(dir, 'segments'))
    .filter((f) => f.endsWith('.seg'))
    .sort();

/** A logger that keeps what it was told, by level. */
function recording() {
  const said = { warn: [] as unknown[], info: [] as unknown[], error: [] as unknown[] };
  return {
    said,
    logger: {
      error: (f: unknown) => said.error.push(f),
      warn: (f: unknown) => said.warn.push(f),
      info: (f: unknown) => said.info.push(f),
      debug: () => {},
    },
  };
}

/** Frame size of `bodyOf(i, size)` without headers. */
const frame = (size = 40) => 30 + size;

async function expectRecords(dir: string, n: number, options = {}) {
  const log = await openLog({ dir, logger: silent, ...options });
  const records = await log.read(0, { max: n + 10 });
  expect(records.map((r) => r.seq)).toEqual(Array.from({ length: n }, (_, i) => i));
  for (const [i, r] of records.entries()) expect(r.body.equals(bodyOf(i)), `record ${i}`).toBe(true);
  return log;
}

describe('zero-fill ahead of the writer', () => {
  it('small synced appends leave zeros after the data while the log runs; close cuts them; a reopen finds records only', async () => {
    const dir = tempLogDir();
    const log = await openLog({ dir, sync: 'always', logger: silent, preallocateBytes: 64 * 1024 });
    for (let i = 0; i < 50; i++) await log.append(bodyOf(i));
    const dataEnd = 16 + 50 * frame();
    // The fill runs in the background: the next append waits for nothing, so poll for it.
    for (let t = 0; statSync(lastSegment(dir)).size === dataEnd && t < 200; t++)
      await new Promise((r) => setTimeout(r, 5));
    const running = readFileSync(lastSegment(dir));
    expect(running.length).toBeGreaterThan(dataEnd);
    expect(running.length).toBeLessThanOrEqual(dataEnd + 64 * 1024);
    expect(running.subarray(dataEnd).every((b) => b === 0)).toBe(true);
    await log.close();
    expect(statSync(lastSegment(dir)).size).toBe(dataEnd);
    const { said, logger } = recording();
    const again = await openLog({ dir, logger });
    expect(again.recovery.truncatedBytes).toBe(0);
    expect(said).toEqual({ warn: [], info: [], error: [] });
    await again.close();
    await (await expectRecords(dir, 50)).close();
  });

  it('off with other sync levels and with preallocateBytes: 0; the option is checked', async () => {
    for (const options of [{ sync: 'none' as const }, { sync: 'always' as const, preallocateBytes: 0 }]) {
      const dir = tempLogDir();
      const log = await openLog({ dir, logger: silent, ...options });
      for (let i = 0; i < 20; i++) await log.append(bodyOf(i));
      await new Promise((r) => setTimeout(r, 50));
      expect(statSync(lastSegment(dir)).size).toBe(16 + 20 * frame());
      await log.close();
    }
    for (const bad of [1, 4095, 2048 * 1024, 4096.5, -1, Number.NaN])
      await expect(
        openLog({ dir: tempLogDir(), segmentBytes: 1024 * 1024, preallocateBytes: bad }),
      ).rejects.toMatchObject({ code: 'Q_INVALID_OPTION', option: 'preallocateBytes' });
    await expect(openLog({ dir: tempLogDir(), preallocateBytes: 1 })).rejects.toBeInstanceOf(InvalidOptionError);
  });

  it('a crash with zeros after the data: every record kept, the zeros cut with an info line and no warning', async () => {
    const dir = tempLogDir();
    const log = await openLog({ dir, sync: 'always', logger: silent, preallocateBytes: 64 * 1024 });
    for (let i = 0; i < 30; i++) await log.append(bodyOf(i));
    for (let t = 0; statSync(lastSegment(dir)).size === 16 + 30 * frame() && t < 200; t++)
      await new Promise((r) => setTimeout(r, 5));
    const copy = crashCopy(dir);
    await log.close();
    const size = statSync(lastSegment(copy)).size;
    expect(size).toBeGreaterThan(16 + 30 * frame());
    const { said, logger } = recording();
    const reopened = await openLog({ dir: copy, logger });
    expect(reopened.recovery.truncatedBytes).toBe(size - (16 + 30 * frame()));
    expect(reopened.recovery.truncatedSeqs).toBeNull();
    expect(said.warn).toEqual([]);
    expect(said.info).toHaveLength(1);
    expect(await reopened.append(bodyOf(30))).toBe(30);
    await reopened.close();
    await (await expectRecords(copy, 31)).close();
  });

  it('segments sealed while zero-filled hold records only: a reopen trusts every seal', async () => {
    const dir = tempLogDir();
    const options = { sync: 'always' as const, segmentBytes: 16 * 1024, preallocateBytes: 8 * 1024 };
    const log = await openLog({ dir, logger: silent, ...options });
    for (let i = 0; i < 1200; i++) await log.append(bodyOf(i));
    await log.close();
    const segs = segFiles(dir);
    expect(segs.length).toBeGreaterThan(3);
    for (const s of segs) {
      const buf = readFileSync(join(dir, 'segments', s));
      // Records end where the file ends: the last frame's body, never a zero, is the file's last byte.
      expect(buf.at(-1), s).not.toBe(0);
    }
    const again = await openLog({ dir, logger: silent, ...options });
    expect(again.recovery.rebuiltIndexes).toEqual([]);
    expect(again.recovery.truncatedBytes).toBe(0);
    await again.close();
    await (await expectRecords(dir, 1200, options)).close();
  });

  it('a power loss that kept later pages of the last write and not an earlier one: a torn tail, not damage', async () => {
    const dir = tempLogDir();
    const log = await openLog({ dir, sync: 'always', logger: silent, preallocateBytes: 64 * 1024 });
    for (let i = 0; i < 20; i++) await log.append(bodyOf(i));
    // The "last write": 40 records of 100 bytes in one group, 5,200 bytes, more than ten disk blocks.
    const last = Array.from({ length: 40 }, (_, k) => bodyOf(20 + k, 100));
    await log.appendBatch(last);
    const copy = crashCopy(dir);
    await log.close();
    const path = lastSegment(copy);
    const file = readFileSync(path);
    const start = 16 + 20 * frame();
    // A block inside the group that never reached the disk: zeros where its pages should be.
    const hole = Math.ceil((start + 600) / 512) * 512;
    const torn = Buffer.from(file);
    torn.fill(0, hole, hole + 512);
    writeFileSync(path, torn);
    const { said, logger } = recording();
    const reopened = await openLog({ dir: copy, logger });
    const kept = reopened.nextSeq;
    expect(kept).toBeGreaterThan(20);
    expect(kept).toBeLessThan(60);
    const records = await reopened.read(0, { max: 100 });
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: kept }, (_, i) => i));
    expect(reopened.recovery.truncatedSeqs).toEqual([kept, 60]);
    expect(said.warn).toHaveLength(1);
    expect(said.error).toEqual([]);
    expect(await reopened.append('next')).toBe(kept);
    await reopened.close();

    // Whatever the reopen's options: the segment's header says it was zero-filled.
    writeFileSync(path, torn);
    const appendOnly = await openLog({ dir: copy, logger: silent, sync: 'none', preallocateBytes: 0 });
    expect(appendOnly.nextSeq).toBe(kept);
    await appendOnly.close();
    // The same hole in a segment not marked zero-filled (appended to: holes cannot happen) is damage.
    const unmarked = Buffer.from(torn);
    unmarked[6] = 0;
    writeFileSync(path, unmarked);
    await expect(openLog({ dir: copy, logger: silent })).rejects.toBeInstanceOf(LogCorruptionError);
    // And a flipped bit with zero-fill is damage.
    const flipped = Buffer.from(file);
    flipped[hole + 100] = (flipped[hole + 100] as number) ^ 0x10;
    writeFileSync(path, flipped);
    await expect(openLog({ dir: copy, logger: silent })).rejects.toBeInstanceOf(LogCorruptionError);
  });

  it('a large group written right behind a small one waits for the fill the small one started: no zeros over records', async () => {
    const dir = tempLogDir();
    const options = { sync: 'always' as const, segmentBytes: 64 * 1024 * 1024, preallocateBytes: 256 * 1024 };
    const log = await openLog({ dir, logger: silent, ...options });
    const bodies: Buffer[] = [];
    for (let i = 0; i < 60; i++) {
      // The small append starts a fill from the end of the data; the large one, submitted as it resolves,
      // would write over the same range.
      const small = Buffer.alloc(10, i & 0xff);
      const large = Buffer.alloc(300 * 1024, (i * 7 + 1) & 0xff);
      await log.append(small);
      bodies.push(small);
      await log.append(large);
      bodies.push(large);
    }
    await log.close();
    const again = await openLog({ dir, logger: silent, ...options });
    expect(again.recovery.truncatedBytes).toBe(0);
    const seen: Buffer[] = [];
    for (let from = 0; from < again.nextSeq; ) {
      const batch = await again.read(from, { max: 16 });
      for (const r of batch) seen.push(r.body);
      from += batch.length;
    }
    expect(seen.length).toBe(120);
    for (const [i, b] of seen.entries()) expect(b.equals(bodies[i] as Buffer), `record ${i}`).toBe(true);
    await again.close();
  });

  it("a torn page that took a frame's last byte, which had one bit set, is a torn write, not a flipped bit (model seed 1302944790)", async () => {
    const dir = tempLogDir();
    const log = await openLog({ dir, sync: 'always', logger: silent, preallocateBytes: 64 * 1024 });
    // The first record ends 1 byte into the second disk block: 16 + 30 + 467 = 513.
    await log.append(Buffer.alloc(467, 0x41));
    // The last write: a record whose last byte is 0x20 (one bit set) ends 1 byte into block 2 (1025),
    // then one that ends 1 byte into block 3, then one inside block 3.
    await log.appendBatch([Buffer.alloc(482, 0x41).fill(0x20, 481), Buffer.alloc(482, 0x42), Buffer.alloc(10, 0x43)]);
    const copy = crashCopy(dir);
    await log.close();
    const path = lastSegment(copy);
    const file = readFileSync(path);
    expect(file[1024]).toBe(0x20);
    // Block 2 of the last write never reached the disk: it reads as the zeros that were there.
    file.fill(0, 1024, 1536);
    writeFileSync(path, file);
    const reopened = await openLog({ dir: copy, logger: silent });
    expect(reopened.nextSeq).toBe(1);
    expect(reopened.recovery.truncatedSeqs).toEqual([1, 4]);
    await reopened.close();
  });

  it('a zero block far before the end of the data is damage even with zero-fill', async () => {
    const dir = tempLogDir();
    const log = await openLog({ dir, sync: 'always', logger: silent, segmentBytes: 64 * 1024 * 1024 });
    const big = Buffer.alloc(1024 * 1024, 7);
    for (let i = 0; i < 10; i++) await log.append(big);
    const copy = crashCopy(dir);
    await log.close();
    const path = lastSegment(copy);
    const file = readFileSync(path);
    file.fill(0, 1024, 1536);
    writeFileSync(path, file);
    await expect(openLog({ dir: copy, logger: silent })).rejects.toBeInstanceOf(LogCorruptionError);
  });
});
