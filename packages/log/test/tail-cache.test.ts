import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { type LogRecord, openLog } from '@q/log';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FRAME_OVERHEAD, headersBytes } from '../src/format.js';
import { TailCache } from '../src/tail-cache.js';
import { bodyOf, lastSegment, silent, tempLogDir } from './support/log-dir.js';

const RUNS = Number(process.env.Q_LOG_TAIL_RUNS ?? 60);

/** Frames of records `first..first+n-1` of `size` bytes, as the writer would hand them over. */
function frames(first: number, n: number, size = 10): Buffer {
  return Buffer.concat(
    Array.from({ length: n }, (_, k) => {
      const headers = { n: `${first + k}` };
      const hLen = headersBytes(headers);
      const buf = Buffer.alloc(FRAME_OVERHEAD + hLen + size);
      encodeFrame(buf, 0, first + k, 1_000 + first + k, headers, hLen, bodyOf(first + k, size), size);
      return buf;
    }),
  );
}

const seqs = (records: readonly LogRecord[]) => records.map((r) => r.seq);

describe('tail cache', () => {
  it('keeps groups while a read has reached them, and turns itself off when reads fall behind', () => {
    const cache = new TailCache(600);
    cache.readTo(0);
    cache.add(0, 4, frames(0, 4));
    expect(cache.firstSeq).toBe(0);
    const out: LogRecord[] = [];
    expect(cache.read(1, 10, Number.POSITIVE_INFINITY, 0, out)).toBe(4 * 10 - 10);
    expect(seqs(out)).toEqual([1, 2, 3]);
    expect(out[0]?.headers).toEqual({ n: '1' });
    expect(out[0]?.timestamp).toBe(1_001);
    // Nobody read what is held: the next groups evict it and then the cache holds nothing.
    for (let s = 4; s < 40; s += 4) cache.add(s, s + 4, frames(s, 4));
    expect(cache.firstSeq).toBe(Number.POSITIVE_INFINITY);
    // A read reaching the tail turns it on again, from the next group.
    cache.readTo(40);
    cache.add(40, 44, frames(40, 4));
    expect([cache.firstSeq, cache.endSeq]).toEqual([40, 44]);
  });

  it('a body handed out stays as it was after eviction and later groups', () => {
    const cache = new TailCache(400);
    cache.readTo(0);
    cache.add(0, 4, frames(0, 4));
    const out: LogRecord[] = [];
    cache.read(0, 4, Number.POSITIVE_INFINITY, 0, out);
    for (let s = 4; s < 60; s += 4) {
      cache.readTo(s);
      cache.add(s, s + 4, frames(s, 4, 10));
    }
    expect(cache.firstSeq).toBeGreaterThan(4);
    for (const r of out) expect(r.body.equals(bodyOf(r.seq, 10))).toBe(true);
  });

  it('review P: a body changed in place by one reader does not reach the next read of that seq', async () => {
    const log = await openLog({ dir: tempLogDir(), logger: silent, sync: 'always' });
    await log.read(0);
    await log.append('hello world');
    const [first] = await log.read(0);
    (first as LogRecord).body.fill(0x58);
    const [second] = await log.read(0);
    expect(second?.body.toString()).toBe('hello world');
    for await (const r of log.reader({ from: 0 })) {
      expect(r.body.toString()).toBe('hello world');
      break;
    }
    await log.close();
  });

  it('review P: what is evicted is let go at once (nothing kept alive past the budget)', () => {
    const cache = new TailCache(4096);
    for (let s = 0; s < 40; s++) {
      cache.readTo(s);
      cache.add(s, s + 1, frames(s, 1, 3000));
      expect(cache.retainedBytes).toBeLessThanOrEqual(4096);
    }
    expect(cache.firstSeq).toBe(39);
  });

  it('review P: a fresh log nobody reads keeps nothing, and a group over the budget is not copied', () => {
    const cache = new TailCache(1024);
    cache.add(0, 5, frames(0, 5, 100));
    expect(cache.retainedBytes).toBe(0);
    cache.readTo(5);
    cache.add(5, 6, frames(5, 1, 2000));
    expect(cache.retainedBytes).toBe(0);
  });

  it('reads across groups stop at max and at maxBytes (one record at least), and resume where they stopped', () => {
    const cache = new TailCache(1 << 20);
    cache.readTo(0);
    for (let s = 0; s < 30; s += 5) cache.add(s, s + 5, frames(s, 5, 7));
    let out: LogRecord[] = [];
    cache.read(3, 9, Number.POSITIVE_INFINITY, 0, out);
    expect(seqs(out)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11]);
    out = [];
    expect(cache.read(12, 100, 20, 0, out)).toBe(-1);
    expect(seqs(out)).toEqual([12, 13]);
    out = [];
    cache.read(14, 100, 1, 0, out);
    expect(seqs(out)).toEqual([14]);
    out = [];
    cache.read(0, 100, Number.POSITIVE_INFINITY, 0, out);
    expect(seqs(out)).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  it(`${RUNS} random runs: every read at or near the tail returns what the same read from disk returns`, async () => {
    const record = fc.record({
      size: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 1000, max: 9000 })),
      headers: fc.boolean(),
    });
    const step = fc.record({
      appends: fc.array(fc.array(record, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 5 }),
      reads: fc.array(
        fc.record({
          back: fc.integer({ min: 0, max: 12 }),
          max: fc.integer({ min: 1, max: 20 }),
          maxBytes: fc.option(fc.integer({ min: 1, max: 20_000 }), { nil: undefined }),
        }),
        { maxLength: 3 },
      ),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 0, max: 40_000 }),
        async (steps, budget) => {
          const dir = tempLogDir();
          const log = await openLog({
            dir,
            logger: silent,
            sync: 'none',
            segmentBytes: 32 * 1024,
            tailCacheBytes: budget,
          });
          const asked: Array<{
            from: number;
            end: number;
            max: number;
            maxBytes: number | undefined;
            got: LogRecord[];
          }> = [];
          let next = 0;
          // A reader at the tail from the start, as the outbox's forwarder is.
          await log.read(0);
          for (const s of steps) {
            // Appends started together share a group: groups of several appends and batches.
            await Promise.all(
              s.appends.map((batch) =>
                log.appendBatch(
                  batch.map((r) => {
                    const body = bodyOf(next++, r.size);
                    return r.headers ? { body, headers: { k: `v${next}` } } : body;
                  }),
                ),
              ),
            );
            for (const r of s.reads) {
              const from = Math.max(0, log.nextSeq - r.back);
              const got = await log.read(from, {
                max: r.max,
                ...(r.maxBytes === undefined ? {} : { maxBytes: r.maxBytes }),
              });
              // Bodies copied: the comparison below must not depend on buffers staying alive as views.
              asked.push({
                from,
                end: log.nextSeq,
                max: r.max,
                maxBytes: r.maxBytes,
                got: got.map((x) => ({ ...x, body: Buffer.from(x.body) })),
              });
            }
          }
          await log.close();
          const disk = await openLog({ dir, logger: silent, sync: 'none', segmentBytes: 32 * 1024, tailCacheBytes: 0 });
          try {
            for (const a of asked) {
              const read = await disk.read(a.from, {
                max: a.max,
                ...(a.maxBytes === undefined ? {} : { maxBytes: a.maxBytes }),
              });
              // What was appended after that read could not be in it.
              const want = read.filter((x) => x.seq < a.end).map((x) => ({ ...x, body: Buffer.from(x.body) }));
              if (!isDeepStrictEqual(a.got, want))
                throw new Error(
                  `read(${a.from}, max ${a.max}, maxBytes ${a.maxBytes}) differs: ${seqs(a.got)} vs ${seqs(want)}`,
                );
            }
          } finally {
            await disk.close();
          }
        },
      ),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('a reader at the tail is served from memory: damage done to the file afterwards reaches only reads from disk', async () => {
    const dir = tempLogDir();
    const log = await openLog({ dir, logger: silent, sync: 'always', preallocateBytes: 0 });
    await log.read(0, { max: 1 });
    await log.appendBatch(Array.from({ length: 5 }, (_, i) => bodyOf(i, 100)));
    // Flip a byte of the last record's body on disk.
    const path = lastSegment(dir);
    const fd = openSync(path, 'r+');
    const size = fstatSync(fd).size;
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, size - 5);
    byte[0] = (byte[0] as number) ^ 0xff;
    writeSync(fd, byte, 0, 1, size - 5);
    closeSync(fd);
    const fromMemory = await log.read(0, { max: 10 });
    expect(fromMemory.map((r) => r.body.equals(bodyOf(r.seq, 100)))).toEqual([true, true, true, true, true]);
    await log.close();
    const reopened = await openLog({ dir, logger: silent, sync: 'always', preallocateBytes: 0 });
    expect(reopened.nextSeq).toBe(4);
    await reopened.close();
  });
});
