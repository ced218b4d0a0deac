// Review findings on the write path (group commit, encoding, making room).
import { mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openLog } from '@q/log';
import { describe, expect, it } from 'vitest';
import { silent, tempLogDir } from './support/log-dir.js';

describe('review: the write path', () => {
  it('a headers object changed by the caller after append() returns is stored as it was at the call', async () => {
    const dir = tempLogDir();
    const log = await openLog({ dir, sync: 'always', logger: silent });
    // A record in flight, so that the next appends wait in the queue while the caller changes its headers.
    const busy = log.append('x'.repeat(1000));
    const grown: Record<string, string> = { id: 'a' };
    const middle = log.append({ body: 'grown', headers: grown });
    grown.id = 'a value longer than the one measured at append';
    const shrunk: Record<string, string> = { id: 'a rather long value', other: 'x' };
    const shrunkSeq = log.append({ body: 'shrunk', headers: shrunk });
    shrunk.id = '';
    delete shrunk.other;
    const last: Record<string, string> = { id: 'b' };
    const lastSeq = log.append({ body: 'last of its group', headers: last });
    last.id = 'another value much longer than the one measured at append'.repeat(3);
    expect(await Promise.all([busy, middle, shrunkSeq, lastSeq])).toEqual([0, 1, 2, 3]);
    const expected = [
      [0, {}, 'x'.repeat(1000)],
      [1, { id: 'a' }, 'grown'],
      [2, { id: 'a rather long value', other: 'x' }, 'shrunk'],
      [3, { id: 'b' }, 'last of its group'],
    ];
    const view = (rs: { seq: number; headers: Record<string, string>; body: Buffer }[]) =>
      rs.map((r) => [r.seq, r.headers, r.body.toString()]);
    expect(view(await log.read(0))).toEqual(expected);
    expect(await log.append('after')).toBe(4);
    await log.close();
    const again = await openLog({ dir, logger: silent });
    expect(view(await again.read(0, { max: 4 }))).toEqual(expected);
    await again.close();
  });

  it('headers whose getter answers differently on each read are stored as read once, at the call', async () => {
    const log = await openLog({ dir: tempLogDir(), sync: 'always', logger: silent });
    let reads = 0;
    const shifty = {
      get id(): string {
        reads++;
        return 'v'.repeat(reads);
      },
    };
    expect(await log.append({ body: 'b', headers: shifty as Record<string, string> })).toBe(0);
    expect(reads).toBe(1);
    expect(await log.append('next')).toBe(1);
    expect((await log.read(0)).map((r) => [r.body.toString(), r.headers])).toEqual([
      ['b', { id: 'v' }],
      ['next', {}],
    ]);
    await log.close();
  });

  it('a retention failure while an append makes room settles every append (no unhandled rejection, no hang)', async () => {
    const dir = tempLogDir();
    const log = await openLog({ dir, sync: 'none', segmentBytes: 1024, maxBytes: 2048, logger: silent });
    for (let i = 0; i < 3; i++) await log.append('a'.repeat(300));
    // The oldest segment's name becomes a directory: retention's unlink fails (EISDIR), for root too.
    const segDir = join(dir, 'segments');
    const oldest = join(segDir, readdirSync(segDir).filter((n) => n.endsWith('.seg'))[0] as string);
    renameSync(oldest, `${oldest}.moved`);
    mkdirSync(oldest);
    try {
      const settled = await Promise.race([
        Promise.allSettled(Array.from({ length: 12 }, () => log.append('b'.repeat(300)))),
        new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 5000)),
      ]);
      expect(settled).not.toBe('timeout');
      // The segment retention could not delete stays counted: appends past maxBytes get LogFullError saying
      // why (whenFull: 'reject'), the others are stored.
      const results = settled as PromiseSettledResult<number>[];
      const rejected = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
      expect(rejected.length).toBeGreaterThan(0);
      for (const r of rejected) {
        expect(r.reason).toMatchObject({ code: 'Q_LOG_FULL' });
        expect((r.reason as Error).cause).toMatchObject({ code: 'EISDIR' });
      }
      const stored = results.filter((r) => r.status === 'fulfilled').length;
      // The directory problem fixed: retention deletes the segment and appends go on.
      rmSync(oldest, { recursive: true, force: true });
      renameSync(`${oldest}.moved`, oldest);
      expect(await log.append('c')).toBe(3 + stored);
      await log.close();
    } finally {
      rmSync(oldest, { recursive: true, force: true });
    }
  });
});
