import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LogClosedError, LogFullError, openLog } from '@q/log';
import { describe, expect, it } from 'vitest';
import { silent, tempLogDir } from './support/log-dir.js';

const body = Buffer.alloc(100, 1);
const segCount = (dir: string) => readdirSync(join(dir, 'segments')).filter((f) => f.endsWith('.seg')).length;

describe('retention', () => {
  it('deletes segments once every cursor has passed them, never the active one nor one a reader is in', async () => {
    const dir = tempLogDir();
    const log = await openLog({ dir, logger: silent, segmentBytes: 1024 });
    const a = await log.cursor('a');
    const b = await log.cursor('b');
    for (let i = 0; i < 10; i++) await log.appendBatch(Array.from({ length: 10 }, () => body));
    const segments = segCount(dir);
    expect(segments).toBeGreaterThan(5);
    await a.commit(100);
    expect((await log.applyRetention()).deletedSegments).toEqual([]);
    // A reader sitting at seq 30 holds its segment and the later ones.
    const ac = new AbortController();
    const it = log.reader({ from: 30, signal: ac.signal });
    expect((await it.next()).value?.seq).toBe(30);
    await b.commit(100);
    const { deletedSegments } = await log.applyRetention();
    expect(deletedSegments.length).toBeGreaterThan(0);
    expect(log.firstSeq).toBeLessThanOrEqual(30);
    expect((await log.read(0, { max: 1 }))[0]?.seq).toBe(log.firstSeq);
    ac.abort();
    await it.return?.();
    await log.applyRetention();
    expect(segCount(dir)).toBe(1);
    const first = log.firstSeq;
    expect(first).toBeGreaterThan(30);
    expect(a.position).toBe(100);
    await log.close();
    const again = await openLog({ dir, logger: silent, segmentBytes: 1024 });
    expect([again.firstSeq, again.nextSeq]).toEqual([first, 100]);
    expect(await again.append('x')).toBe(100);
    await again.close();
  });

  it("whenFull 'reject' with maxBytes: LogFullError, and appends work again once a cursor frees room", async () => {
    const dir = tempLogDir();
    const log = await openLog({ dir, logger: silent, segmentBytes: 1024, maxBytes: 3000, whenFull: 'reject' });
    const c = await log.cursor('c');
    let stored = 0;
    let error: unknown;
    for (let i = 0; i < 100 && error === undefined; i++) {
      try {
        await log.append(body);
        stored++;
      } catch (err) {
        error = err;
      }
    }
    expect(error).toBeInstanceOf(LogFullError);
    expect(log.nextSeq).toBe(stored);
    await c.commit(stored);
    await log.applyRetention();
    expect(await log.append(body)).toBe(stored);
    await log.close();
  });

  it("whenFull 'block' waits until retention frees room, and close ends the wait", async () => {
    const dir = tempLogDir();
    const log = await openLog({ dir, logger: silent, segmentBytes: 1024, maxBytes: 3000, whenFull: 'block' });
    const c = await log.cursor('c');
    const acked: number[] = [];
    const pending = Array.from({ length: 40 }, () => log.append(body).then((s) => acked.push(s)));
    await new Promise((r) => setTimeout(r, 50));
    const before = acked.length;
    expect(before).toBeLessThan(40);
    // The blocked appends go on as the cursor frees room, segment by segment.
    for (let i = 0; i < 400 && acked.length < 40; i++) {
      await c.commit(log.nextSeq);
      await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(pending);
    expect(acked).toEqual(Array.from({ length: 40 }, (_, i) => i));
    const more = Array.from({ length: 40 }, () => log.append(body));
    await new Promise((r) => setTimeout(r, 50));
    const closing = log.close();
    const results = await Promise.allSettled(more);
    await closing;
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(rejected.length).toBeGreaterThan(0);
    for (const r of rejected) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(LogClosedError);
  });

  it('maxAgeMs deletes old sealed segments whatever the cursors; without cursors, maxBytes drops the oldest', async () => {
    const dir = tempLogDir();
    const log = await openLog({ dir, logger: silent, segmentBytes: 1024, maxAgeMs: 20 });
    await log.cursor('slow');
    for (let i = 0; i < 5; i++) await log.appendBatch(Array.from({ length: 10 }, () => body));
    await new Promise((r) => setTimeout(r, 40));
    await log.applyRetention();
    expect(segCount(dir)).toBe(1);
    expect((await log.cursor('slow')).position).toBe(log.firstSeq);
    await log.close();
    const dir2 = tempLogDir();
    const ring = await openLog({ dir: dir2, logger: silent, segmentBytes: 1024, maxBytes: 4096 });
    for (let i = 0; i < 20; i++) await ring.appendBatch(Array.from({ length: 5 }, () => body));
    await ring.applyRetention();
    const segs = readdirSync(join(dir2, 'segments')).filter((f) => f.endsWith('.seg'));
    const bytes = segs.reduce((n, f) => n + statSync(join(dir2, 'segments', f)).size, 0);
    expect(bytes).toBeLessThanOrEqual(4096);
    expect(ring.nextSeq).toBe(100);
    expect(ring.firstSeq).toBeGreaterThan(50);
    expect((await ring.read(0, { max: 1 }))[0]?.seq).toBe(ring.firstSeq);
    await ring.close();
  });
});
