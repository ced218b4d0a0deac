import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LogCorruptionError, openLog } from '@q/log';
import { describe, expect, it } from 'vitest';
import { scanSegment } from '../src/cli/segment-reader.js';
import { sealFrame } from '../src/format.js';
import { silent, tempLogDir } from './support/log-dir.js';

const segPaths = (dir: string) =>
  readdirSync(join(dir, 'segments'))
    .filter((f) => f.endsWith('.seg'))
    .sort()
    .map((f) => join(dir, 'segments', f));

describe('read path review', () => {
  it('a reader whose next() rejected on damage no longer holds retention back', async () => {
    const dir = tempLogDir();
    // Written without maxAgeMs, then opened again with it: on a loaded machine the appends took longer
    // than 50 ms, and retention run at each roll deleted the first segments while they were written.
    const writer = await openLog({ dir, logger: silent, sync: 'none', segmentBytes: 4096 });
    for (let i = 0; i < 200; i += 10)
      await writer.appendBatch(Array.from({ length: 10 }, (_, k) => Buffer.alloc(100, i + k)));
    await writer.close();
    // Retention runs after commits, rolls and applyRetention only: opening deletes nothing.
    const log = await openLog({ dir, logger: silent, sync: 'none', segmentBytes: 4096, maxAgeMs: 50 });
    const segs = segPaths(dir);
    expect(segs.length).toBeGreaterThan(5);
    const target = segs[3] as string;
    const good = readFileSync(target);
    const bad = Buffer.from(good);
    bad[16 + 40] = (bad[16 + 40] as number) ^ 1;
    writeFileSync(target, bad);
    // A rejected next() ends the loop without return(), as the language specifies.
    const err = await (async () => {
      for await (const _ of log.reader({ from: 0, batch: 8 })) {
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LogCorruptionError);
    writeFileSync(target, good);
    await new Promise((r) => setTimeout(r, 100));
    // Every sealed segment has expired: all go (before the fix, those from the reader's position on stayed).
    const { deletedSegments } = await log.applyRetention();
    expect(deletedSegments.length).toBe(segs.length - 1);
    await log.close();
  });

  it('a frame with a valid CRC whose header entries run past its headers length throws, never reads other bytes', async () => {
    for (const [keyLen, valueLen] of [
      [60_000, 2], // the key runs past the buffer: a RangeError before the fix
      [2, 65_000], // the value runs over the body and the next frame: returned as a header before the fix
      [2, 3], // the value runs one byte into the body length field
    ] as const) {
      const dir = tempLogDir();
      let log = await openLog({ dir, logger: silent, sync: 'none' });
      await log.append({ body: 'hello world', headers: { ab: 'cd' } });
      await log.append('next');
      await log.close();
      const path = segPaths(dir)[0] as string;
      const f = readFileSync(path);
      // Headers at 16 + 26: [u16 2]["ab"][u16 2]["cd"].
      f.writeUInt16LE(keyLen, 16 + 26);
      f.writeUInt16LE(valueLen, 16 + 30);
      sealFrame(f, 16, 16 + f.readUInt32LE(16) + 8);
      writeFileSync(path, f);
      log = await openLog({ dir, logger: silent, sync: 'none' });
      await expect(log.read(0, { max: 2 })).rejects.toMatchObject({
        name: 'LogCorruptionError',
        offset: 16,
        reason: 'header entry lengths do not fill the headers length',
      });
      expect((await log.read(1)).map((r) => r.body.toString())).toEqual(['next']);
      await log.close();
    }
  });

  it('q-log scan (tail, inspect, verify) reports such a frame as bad instead of throwing a RangeError', async () => {
    for (const decode of [true, false]) {
      const dir = tempLogDir();
      const log = await openLog({ dir, logger: silent, sync: 'none' });
      await log.append({ body: 'hello world', headers: { ab: 'cd' } });
      await log.append('next');
      await log.close();
      const path = segPaths(dir)[0] as string;
      const f = readFileSync(path);
      f.writeUInt16LE(60_000, 16 + 26);
      sealFrame(f, 16, 16 + f.readUInt32LE(16) + 8);
      writeFileSync(path, f);
      const items = [];
      for await (const item of scanSegment(path, { decode })) items.push(item);
      expect(items).toEqual([
        expect.objectContaining({ kind: 'bad', offset: 16, reason: expect.stringContaining('header entry lengths') }),
      ]);
    }
  });
});
