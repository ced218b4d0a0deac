import { InvalidOptionError } from '@q/core';
import { openLog, RecordTooLargeError } from '@q/log';
import { describe, expect, it } from 'vitest';
import {
  checkFrame,
  decodeFrame,
  decodeSegmentHeader,
  encodeFrame,
  encodeSegmentHeader,
  FRAME_BAD,
  FRAME_INCOMPLETE,
  FRAME_OVERHEAD,
  headersBytes,
  readU64,
  writeU64,
} from '../src/format.js';
import { SegmentIndex } from '../src/segment-index.js';
import { silent, tempLogDir } from './support/log-dir.js';

function frame(
  seq: number,
  body: Buffer | string,
  headers?: Record<string, string>,
  timestamp = 1_700_000_000_123,
): Buffer {
  const hLen = headersBytes(headers);
  const bLen = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  const buf = Buffer.alloc(FRAME_OVERHEAD + hLen + bLen);
  expect(encodeFrame(buf, 0, seq, timestamp, headers, hLen, body, bLen)).toBe(buf.length);
  return buf;
}

describe('format', () => {
  it('u64 helpers round-trip values past 2^32 and up to 2^53 - 1', () => {
    const buf = Buffer.alloc(8);
    for (const v of [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 5 * 2 ** 32 + 12345, 2 ** 53 - 1]) {
      writeU64(buf, 0, v);
      expect(buf.readBigUInt64LE(0)).toBe(BigInt(v));
      expect(readU64(buf, 0)).toBe(v);
    }
    buf.writeBigUInt64LE(2n ** 60n, 0);
    expect(readU64(buf, 0)).toBeNaN();
  });

  it('segment header round-trips a first seq past 2^32', () => {
    expect(decodeSegmentHeader(encodeSegmentHeader(2 ** 40 + 7))).toEqual({ firstSeq: 2 ** 40 + 7, flags: 0 });
    expect(decodeSegmentHeader(encodeSegmentHeader(5, 1))).toEqual({ firstSeq: 5, flags: 1 });
    const bad = encodeSegmentHeader(1);
    bad[0] = 0;
    expect(decodeSegmentHeader(bad)).toHaveProperty('error');
  });

  it('frames round-trip seq and timestamp past 2^32, headers (unicode, __proto__) and bodies of 0 and 1 bytes', () => {
    for (const [body, headers] of [
      [Buffer.alloc(0), undefined],
      [Buffer.from([0xff]), { id: 'x' }],
      ['héllo ✓', { κλειδί: 'τιμή', url: 'http://127.0.0.1/x', __proto__x: '' }],
    ] as const) {
      const f = frame(2 ** 33 + 5, body, headers as Record<string, string> | undefined, 2 ** 41 + 3);
      expect(checkFrame(f, 0, f.length)).toBe(f.length);
      const r = decodeFrame(f, 0);
      expect(r.seq).toBe(2 ** 33 + 5);
      expect(r.timestamp).toBe(2 ** 41 + 3);
      expect(r.body.equals(Buffer.from(body))).toBe(true);
      expect(r.headers).toEqual(headers ?? {});
    }
    const proto = JSON.parse('{"__proto__":"p"}') as Record<string, string>;
    const f = frame(1, 'b', proto);
    expect(Object.getPrototypeOf(decodeFrame(f, 0).headers)).toBe(Object.prototype);
    expect(Object.keys(decodeFrame(f, 0).headers)).toEqual(['__proto__']);
  });

  it('the CRC covers the length field and every byte after the CRC; a cut frame is incomplete', () => {
    const f = frame(9, 'some body', { k: 'v' });
    for (let i = 0; i < f.length; i++) {
      if (i >= 4 && i < 8) continue;
      for (const bit of [0x01, 0x80]) {
        const g = Buffer.from(f);
        g[i] = (g[i] as number) ^ bit;
        const status = checkFrame(g, 0, g.length);
        expect(status === FRAME_BAD || status === FRAME_INCOMPLETE, `byte ${i}`).toBe(true);
      }
    }
    for (let cut = 0; cut < f.length; cut++) expect(checkFrame(f, 0, cut)).not.toBe(f.length);
  });

  it('index entries keep offsets past 2^32', () => {
    const idx = new SegmentIndex();
    idx.push(10, 2 ** 32 + 100);
    idx.push(20, 2 ** 33);
    expect(idx.floor(15)).toEqual({ relSeq: 10, offset: 2 ** 32 + 100 });
    expect(idx.floor(25)).toEqual({ relSeq: 20, offset: 2 ** 33 });
    expect(idx.floor(5)).toEqual({ relSeq: 0, offset: 16 });
  });

  it('stores records of 0 B, 1 B, 64 KiB + 1 and 16 MiB and refuses one above maxRecordBytes', async () => {
    const log = await openLog({ dir: tempLogDir(), logger: silent, sync: 'none' });
    const sizes = [0, 1, 64 * 1024 + 1, 16 * 1024 * 1024];
    const bodies = sizes.map((n, i) => Buffer.alloc(n, i + 1));
    for (const b of bodies) await log.append(b);
    await expect(log.append(Buffer.alloc(16 * 1024 * 1024 + 1))).rejects.toBeInstanceOf(RecordTooLargeError);
    // Body and headers count together.
    await expect(log.append({ body: Buffer.alloc(16 * 1024 * 1024 - 2), headers: { a: 'b' } })).rejects.toMatchObject({
      code: 'Q_LOG_RECORD_TOO_LARGE',
    });
    await log.close();
    const again = await openLog({ dir: log.dir, logger: silent });
    const read = await again.read(0, { max: 10 });
    expect(read.map((r) => r.body.length)).toEqual(sizes);
    for (const [i, r] of read.entries()) expect(r.body.equals(bodies[i] as Buffer)).toBe(true);
    expect(again.nextSeq).toBe(4);
    await again.close();
  });

  it('invalid options throw InvalidOptionError naming the option', async () => {
    const dir = tempLogDir();
    for (const [options, name] of [
      [{ segmentBytes: 10 }, 'segmentBytes'],
      [{ maxRecordBytes: -1 }, 'maxRecordBytes'],
      [{ sync: 'sometimes' }, 'sync'],
      [{ sync: { intervalMs: 0 } }, 'sync.intervalMs'],
      [{ maxBytes: 1000 }, 'maxBytes'],
      [{ whenFull: 'wait' }, 'whenFull'],
      [{ onCorruption: 'skip' }, 'onCorruption'],
      [{ indexIntervalBytes: 1 }, 'indexIntervalBytes'],
    ] as const) {
      await expect(openLog({ dir, ...(options as object) })).rejects.toMatchObject({ option: name });
      await expect(openLog({ dir, ...(options as object) })).rejects.toBeInstanceOf(InvalidOptionError);
    }
  });
});
