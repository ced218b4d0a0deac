import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LogLockedError, openLog } from '@q/log';
import { describe, expect, it } from 'vitest';
import { silent, tempLogDir } from './support/log-dir.js';

describe('LOCK', () => {
  it('a second opener gets LogLockedError; after close it opens', async () => {
    const dir = tempLogDir();
    const log = await openLog({ dir, logger: silent });
    await expect(openLog({ dir, logger: silent })).rejects.toBeInstanceOf(LogLockedError);
    expect(JSON.parse(readFileSync(join(dir, 'LOCK'), 'utf8')).pid).toBe(process.pid);
    await log.close();
    const again = await openLog({ dir, logger: silent });
    await again.close();
  });

  it('a LOCK held by another live process is refused, one left by a dead pid is taken over', async () => {
    const dir = tempLogDir();
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: process.ppid, startedAt: 0 }));
    await expect(openLog({ dir, logger: silent })).rejects.toMatchObject({ code: 'Q_LOG_LOCKED', pid: process.ppid });
    // A pid that existed and has exited: a finished child's.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: Number(dead), startedAt: 0 }));
    const log = await openLog({ dir, logger: silent });
    expect(JSON.parse(readFileSync(join(dir, 'LOCK'), 'utf8')).pid).toBe(process.pid);
    await log.close();
    writeFileSync(join(dir, 'LOCK'), '{"pid":');
    const torn = await openLog({ dir, logger: silent });
    await torn.close();
  });
});
