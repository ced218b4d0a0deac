import { readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LogCorruptionError, openLog } from '@q/log';
import { describe, expect, it } from 'vitest';
import { bodyOf, silent, tempLogDir } from './support/log-dir.js';

const segFiles = (dir: string) =>
  readdirSync(join(dir, 'segments'))
    .filter((f) => f.endsWith('.seg'))
    .sort();
const lastSeg = (dir: string) => join(dir, 'segments', segFiles(dir).at(-1) as string);

async function writeLog(dir: string, n: number, options: { segmentBytes?: number; indexIntervalBytes?: number } = {}) {
  const log = await openLog({ dir, logger: silent, ...options });
  for (let i = 0; i < n; i += 10)
    await log.appendBatch(Array.from({ length: Math.min(10, n - i) }, (_, k) => bodyOf(i + k)));
  await log.close();
}

async function expectRecords(dir: string, n: number, options = {}) {
  const log = await openLog({ dir, logger: silent, ...options });
  const records = await log.read(0, { max: n + 10 });
  expect(records.map((r) => r.seq)).toEqual(Array.from({ length: n }, (_, i) => i));
  for (const [i, r] of records.entries()) expect(r.body.equals(bodyOf(i))).toBe(true);
  return log;
}

describe('recovery', () => {
  it('a cut at every byte of the last record: previous records kept, the cut reported, the next append gets the right seq', async () => {
    const dir = tempLogDir();
    await writeLog(dir, 20, { indexIntervalBytes: 256 });
    const path = lastSeg(dir);
    const whole = readFileSync(path);
    const frame = 30 + bodyOf(19).length;
    const lastStart = whole.length - frame;
    for (let cut = lastStart; cut < whole.length; cut++) {
      writeFileSync(path, whole.subarray(0, cut));
      const log = await expectRecords(dir, 19, { indexIntervalBytes: 256 });
      expect(log.recovery.truncatedBytes).toBe(cut - lastStart);
      expect(log.recovery.segment).toBe(cut > lastStart ? segFiles(dir).at(-1) : undefined);
      // Its seq is readable once the frame's first 16 bytes survived.
      expect(log.recovery.truncatedSeqs).toEqual(cut - lastStart >= 16 ? [19, 20] : null);
      expect(statSync(path).size).toBe(lastStart);
      expect(log.nextSeq).toBe(19);
      expect(await log.append(bodyOf(19))).toBe(19);
      await log.close();
    }
    await (await expectRecords(dir, 20)).close();
  });

  it('garbage after the last record (zeros, 0xFF) is a torn tail, cut and reported', async () => {
    const dir = tempLogDir();
    await writeLog(dir, 5);
    const path = lastSeg(dir);
    const whole = readFileSync(path);
    for (const fill of [0, 0xff]) {
      writeFileSync(path, Buffer.concat([whole, Buffer.alloc(3000, fill)]));
      const log = await expectRecords(dir, 5);
      expect(log.recovery.truncatedBytes).toBe(3000);
      await log.close();
    }
  });

  it('a flipped bit in a middle record: LogCorruptionError naming segment and offset; with onCorruption truncate, a cut there', async () => {
    const dir = tempLogDir();
    await writeLog(dir, 10);
    const path = lastSeg(dir);
    const bad = readFileSync(path);
    const frame = 30 + bodyOf(0).length;
    const offset = 16 + 4 * frame; // record 4
    bad[offset + 40] = (bad[offset + 40] as number) ^ 0x10;
    writeFileSync(path, bad);
    const err = await openLog({ dir, logger: silent }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LogCorruptionError);
    expect(err).toMatchObject({ segment: segFiles(dir).at(-1), offset, reason: 'checksum mismatch' });
    // The failed open left the lock free and the file untouched.
    expect(readFileSync(path).equals(bad)).toBe(true);
    // A flipped length is damage too.
    const badLen = readFileSync(path);
    badLen[offset + 40] = (badLen[offset + 40] as number) ^ 0x10;
    badLen[offset + 1] = (badLen[offset + 1] as number) ^ 0x01;
    writeFileSync(path, badLen);
    await expect(openLog({ dir, logger: silent })).rejects.toMatchObject({ code: 'Q_LOG_CORRUPTION', offset });
    writeFileSync(path, bad);
    const log = await openLog({ dir, logger: silent, onCorruption: 'truncate' });
    expect(log.recovery).toMatchObject({ truncatedSeqs: [4, 10], truncatedBytes: 6 * frame });
    expect((await log.read(0, { max: 100 })).map((r) => r.seq)).toEqual([0, 1, 2, 3]);
    // Seqs 4..9 may have been acknowledged: never handed out again.
    expect(await log.append('next')).toBe(10);
    expect((await log.read(4)).map((r) => r.seq)).toEqual([10]);
    await log.close();
    const again = await openLog({ dir, logger: silent });
    expect((await again.read(0)).map((r) => r.seq)).toEqual([0, 1, 2, 3, 10]);
    await again.close();
  });

  it('a deleted or garbled .idx is rebuilt and reads stay correct, sealed segments and the last one', async () => {
    const dir = tempLogDir();
    await writeLog(dir, 300, { segmentBytes: 4096, indexIntervalBytes: 256 });
    const segs = segFiles(dir);
    expect(segs.length).toBeGreaterThan(3);
    const idx = (s: string) => join(dir, 'segments', s.replace('.seg', '.idx'));
    rmSync(idx(segs[1] as string));
    const garbled = readFileSync(idx(segs[2] as string));
    garbled[20] = (garbled[20] as number) ^ 0xff;
    writeFileSync(idx(segs[2] as string), garbled);
    truncateSync(idx(segs[3] as string), 7);
    rmSync(idx(segs.at(-1) as string));
    const log = await expectRecords(dir, 300, { segmentBytes: 4096, indexIntervalBytes: 256 });
    expect(log.recovery.rebuiltIndexes.sort()).toEqual(
      [segs[1], segs[2], segs[3], segs.at(-1)].map((s) => (s as string).replace('.seg', '.idx')).sort(),
    );
    for (const from of [0, 37, 150, 299])
      expect((await log.read(from, { max: 1 }))[0]?.body.equals(bodyOf(from))).toBe(true);
    await log.close();
    const again = await openLog({ dir, logger: silent, segmentBytes: 4096, indexIntervalBytes: 256 });
    expect(again.recovery.rebuiltIndexes).toEqual([]);
    await again.close();
  });

  it('index entries pointing past a cut are dropped; a segment whose header never reached the disk is rewritten', async () => {
    const dir = tempLogDir();
    await writeLog(dir, 100, { indexIntervalBytes: 128 });
    const path = lastSeg(dir);
    truncateSync(path, 1000);
    const log = await openLog({ dir, logger: silent, indexIntervalBytes: 128 });
    const n = log.nextSeq;
    expect(n).toBe(Math.floor((1000 - 16) / (30 + bodyOf(0).length)));
    expect((await log.read(n - 1))[0]?.seq).toBe(n - 1);
    await log.close();
    truncateSync(path, 5);
    const empty = await openLog({ dir, logger: silent });
    expect(empty.nextSeq).toBe(0);
    expect(await empty.append('a')).toBe(0);
    await empty.close();
  });
});
