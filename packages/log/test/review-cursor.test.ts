// Review findings on cursors and close: after close() the directory may already belong to another
// process, so a cursor write must not land after the lock is released.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LogClosedError, openLog } from '@q/log';
import { describe, expect, it } from 'vitest';
import { silent, tempLogDir } from './support/log-dir.js';

const stored = (dir: string, name: string): number =>
  Number(readFileSync(join(dir, 'cursors', `${name}.cur`)).readBigUInt64LE(4));

describe('review: cursors and close', () => {
  it('a commit or seek after close rejects with LogClosedError and writes nothing', async () => {
    const dir = tempLogDir();
    const log = await openLog({ dir, logger: silent });
    await log.appendBatch(['a', 'b', 'c']);
    const cursor = await log.cursor('c');
    await cursor.commit(1);
    await log.close();
    await expect(cursor.commit(3)).rejects.toBeInstanceOf(LogClosedError);
    await expect(cursor.seek(0)).rejects.toBeInstanceOf(LogClosedError);
    expect(stored(dir, 'c')).toBe(1);
  });

  it('close waits for a commit under way: once close resolves, the commit is on disk and LOCK is gone', async () => {
    const dir = tempLogDir();
    const log = await openLog({ dir, logger: silent });
    await log.appendBatch(['a', 'b', 'c']);
    const cursor = await log.cursor('c');
    const committed = cursor.commit(3);
    const queued = cursor.commit(2).then(() => cursor.position);
    await log.close();
    expect(existsSync(join(dir, 'LOCK'))).toBe(false);
    expect(stored(dir, 'c')).toBe(3);
    expect(existsSync(join(dir, 'cursors', 'c.cur.tmp'))).toBe(false);
    await committed;
    await queued;
  });
});
