// Adversarial review O of dd71df0 (singleBitError locates the bit; a located bit whose byte is now zero
// with zeros to its block end is left to the torn-write rule).
import { readFileSync, writeFileSync } from 'node:fs';
import { LogCorruptionError, openLog } from '@q/log';
import { describe, expect, it } from 'vitest';
import { bodyOf, crashCopy, lastSegment, silent, tempLogDir } from './support/log-dir.js';

/** Offsets of the frames of a segment file (walking length fields from the header; stops at zeros). */
function frameOffsets(file: Buffer): number[] {
  const out: number[] = [];
  for (let at = 16; at + 30 <= file.length; ) {
    const len = file.readUInt32LE(at);
    if (len < 22) break;
    out.push(at);
    at += len + 8;
  }
  return out;
}

/** Writes 10 acknowledged records, then the last (acknowledged) group [X, 3 more]; returns a crash copy. */
async function lastGroupWith(x: Buffer, headers?: Record<string, string>) {
  const dir = tempLogDir();
  const log = await openLog({ dir, sync: 'always', logger: silent });
  for (let i = 0; i < 10; i++) await log.append(bodyOf(i));
  await log.appendBatch([headers ? { body: x, headers } : x, bodyOf(11), bodyOf(12), bodyOf(13)] as never);
  const copy = crashCopy(dir);
  await log.close();
  const path = lastSegment(copy);
  const file = readFileSync(path);
  const offs = frameOffsets(file);
  expect(offs).toHaveLength(14);
  return { copy, path, file, x: offs[10] as number };
}

async function outcome(dir: string): Promise<string> {
  const warn: unknown[] = [];
  try {
    const log = await openLog({ dir, logger: { ...silent, warn: (f: unknown) => warn.push(f) } });
    const r = `opened: nextSeq ${log.nextSeq}, truncatedSeqs ${JSON.stringify(log.recovery.truncatedSeqs)}`;
    await log.close();
    return r;
  } catch (err) {
    return err instanceof LogCorruptionError ? 'LogCorruptionError' : String(err);
  }
}

describe('review-o: single flipped bits in the last acknowledged group', () => {
  it('a flipped bit that clears a lone 0x01 mid-block, zeros after it, is cut as a torn write (dd71df0), though no lost block looks like that', async () => {
    // Body: 100 bytes 'A', one 0x01, 2 KiB of zeros, 40 bytes 'a'. The 0x01 is mid-block, after data.
    const x = Buffer.concat([Buffer.alloc(100, 0x41), Buffer.from([0x01]), Buffer.alloc(2048), Buffer.alloc(40, 0x61)]);
    const { copy, path, file, x: at } = await lastGroupWith(x);
    const p = at + 30 + 100;
    expect(file[p]).toBe(0x01);
    expect(p % 512).not.toBe(0); // bytes before it in its block are record data, not a lost page
    file[p] = 0x00; // one flipped bit in an acknowledged record
    writeFileSync(path, file);
    // docs/log.md Recovery rules 4: "so does a single flipped bit anywhere" -> LogCorruptionError.
    // Before dd71df0 the located bit refused; now records 10..13 (acknowledged) are cut.
    expect(await outcome(copy)).toBe('LogCorruptionError');
  });

  it('a flipped bit in the length field of an acknowledged record holding zeros is cut as a torn write (syndrome taken over the damaged length)', async () => {
    const x = Buffer.concat([Buffer.alloc(40, 0x41), Buffer.alloc(2048), Buffer.alloc(40, 0x61)]);
    const { copy, path, file, x: at } = await lastGroupWith(x);
    file[at] = (file[at] as number) ^ 0x01; // length field, bit 0: the frame reads one byte longer/shorter
    writeFileSync(path, file);
    expect(await outcome(copy)).toBe('LogCorruptionError');
  });

  it('sanity: a torn last write whose lost block held one set bit in a header value is a torn write (position mapping with headers)', async () => {
    // A header value of 1500 NULs with one 0x01 in the middle: the block around it is otherwise zero.
    const value = `${'\u0000'.repeat(700)}\u0001${'\u0000'.repeat(799)}`;
    const dir = tempLogDir();
    const log = await openLog({ dir, sync: 'always', logger: silent });
    for (let i = 0; i < 10; i++) await log.append(bodyOf(i));
    // The last write (never acknowledged: a copy taken as if during the power loss).
    await log.appendBatch([{ body: bodyOf(10, 600), headers: { k: value } }, bodyOf(11), bodyOf(12)] as never);
    const copy = crashCopy(dir);
    await log.close();
    const path = lastSegment(copy);
    const file = readFileSync(path);
    const at = frameOffsets(file)[10] as number;
    const p = file.indexOf(0x01, at + 30);
    const block = Math.floor(p / 512) * 512;
    expect(block).toBeGreaterThan(at + 26);
    expect(block + 512).toBeLessThan(at + 30 + 4 + 1500);
    file.fill(0, block, block + 512); // that block never reached the disk
    writeFileSync(path, file);
    expect(await outcome(copy)).toBe('opened: nextSeq 10, truncatedSeqs [10,13]');
  });
});

describe('review-o: a torn last write whose syndrome happens to be a single bit elsewhere', () => {
  it('a lost block whose content gives the syndrome of one bit in a nonzero byte outside it: openLog refuses (the documented limit, about 8 * frame bytes / 2^32 of torn writes; refusing loses nothing)', async () => {
    const { crc32c } = await import('@q/log');
    const bodyLen = 1200;
    const at = 16 + 10 * 70; // frame X, after 10 records of 40-byte bodies
    const total = 30 + bodyLen;
    const msgLen = total - 4;
    const mIndex = (f: number) => (f - at < 4 ? f - at : f - at - 4);
    const zero = Buffer.alloc(msgLen);
    const base = crc32c(zero);
    const syn = (m: number, b: number) => {
      zero[m] = 1 << b;
      const s = (crc32c(zero) ^ base) >>> 0;
      zero[m] = 0;
      return s;
    };
    // The target: the syndrome of bit 0 of body byte 10 (an 'A', nonzero), outside the lost block.
    const target = syn(mIndex(at + 30 + 10), 0);
    // Solve for a set of bits of block [1024, 1536) whose syndromes XOR to the target (GF(2) elimination).
    const rows: { v: number; bits: number[] }[] = [];
    for (let f = 1024; f < 1536; f++)
      for (let b = 0; b < 8; b++) {
        let v = syn(mIndex(f), b);
        let bits = [(f - 1024) * 8 + b];
        for (const r of rows)
          if ((v ^ r.v) >>> 0 < v) {
            v = (v ^ r.v) >>> 0;
            bits = xorSets(bits, r.bits);
          }
        if (v !== 0) {
          rows.push({ v, bits });
          rows.sort((p, q) => q.v - p.v);
        }
      }
    let t = target;
    let chosen: number[] = [];
    for (const r of rows)
      if ((t ^ r.v) >>> 0 < t) {
        t = (t ^ r.v) >>> 0;
        chosen = xorSets(chosen, r.bits);
      }
    expect(t).toBe(0);
    const body = Buffer.alloc(bodyLen, 0x41);
    body.fill(0, 1024 - (at + 30), 1536 - (at + 30));
    for (const c of chosen) {
      const i = 1024 - (at + 30) + (c >> 3);
      body[i] = (body[i] as number) | (1 << (c & 7));
    }

    const dir = tempLogDir();
    const log = await openLog({ dir, sync: 'always', logger: silent });
    for (let i = 0; i < 10; i++) await log.append(bodyOf(i));
    await log.appendBatch([body, bodyOf(11), bodyOf(12)]); // the last write, cut by the power loss
    const copy = crashCopy(dir);
    await log.close();
    const path = lastSegment(copy);
    const file = readFileSync(path);
    expect(frameOffsets(file)[10]).toBe(at);
    file.fill(0, 1024, 1536); // block [1024, 1536) of the last write never reached the disk
    writeFileSync(path, file);
    // An ordinary torn last write that reads exactly as one flipped bit in record 10: refused, as
    // docs/log.md (recovery rule 4) states; `onCorruption: 'truncate'` then cuts it, losing nothing acknowledged.
    await expect(openLog({ dir: copy, logger: silent })).rejects.toBeInstanceOf(LogCorruptionError);
    const cut = await openLog({ dir: copy, logger: silent, onCorruption: 'truncate' });
    expect(cut.nextSeq).toBe(13);
    await cut.close();
  });
});

function xorSets(a: number[], b: number[]): number[] {
  const s = new Set(a);
  for (const x of b)
    if (s.has(x)) s.delete(x);
    else s.add(x);
  return [...s];
}

describe('review-o: sanity of ordinary torn last writes', () => {
  it('a last write starting exactly at a block boundary whose first block was lost, followed by 0-byte bodies, is a torn write', async () => {
    const dir = tempLogDir();
    const log = await openLog({ dir, sync: 'always', logger: silent });
    for (let i = 0; i < 10; i++) await log.append(bodyOf(i));
    await log.append(bodyOf(10, 1024 - 716 - 30)); // data ends at 1024
    await log.appendBatch([bodyOf(11, 600), Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(0)]);
    const copy = crashCopy(dir);
    await log.close();
    const path = lastSegment(copy);
    const file = readFileSync(path);
    expect(frameOffsets(file)[11]).toBe(1024);
    file.fill(0, 1024, 1536);
    writeFileSync(path, file);
    expect(await outcome(copy)).toBe('opened: nextSeq 11, truncatedSeqs [11,15]');
  });
});
