// A LOCK whose holder died and whose pid the system then gave to another process: the start time the
// holder recorded tells them apart, so the log is not refused forever.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openLog } from '@q/log';
import { describe, expect, it } from 'vitest';
import { silent, tempLogDir } from './support/log-dir.js';

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or undefined without procfs. */
function procStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

const parentStart = procStart(process.ppid);
const noProcfs = parentStart === undefined;
if (noProcfs) console.log('lock-pid-reuse: skipped, no /proc/<pid>/stat here (the lock falls back to pid liveness)');

describe('LOCK: pid reuse', () => {
  it.skipIf(noProcfs)('a LOCK naming a live pid whose process started at another time is taken over', async () => {
    const dir = tempLogDir();
    // The parent is alive and holds no log; the recorded start time is one tick before its real one.
    const stale = String(BigInt(parentStart as string) - 1n);
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: process.ppid, startedAt: 0, procStart: stale }));
    const log = await openLog({ dir, logger: silent });
    const lock = JSON.parse(readFileSync(join(dir, 'LOCK'), 'utf8')) as { pid: number; procStart?: string };
    expect(lock.pid).toBe(process.pid);
    expect(lock.procStart).toBe(procStart(process.pid));
    expect(await log.append('after takeover')).toBe(0);
    await log.close();
  });

  it.skipIf(noProcfs)('a LOCK naming a live pid with its real start time is still refused', async () => {
    const dir = tempLogDir();
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: process.ppid, startedAt: 0, procStart: parentStart }));
    await expect(openLog({ dir, logger: silent })).rejects.toMatchObject({ code: 'Q_LOG_LOCKED', pid: process.ppid });
  });

  it('a live holder in this process is refused by a second open, and its LOCK records its start time', async () => {
    const dir = tempLogDir();
    const log = await openLog({ dir, logger: silent });
    const lock = JSON.parse(readFileSync(join(dir, 'LOCK'), 'utf8')) as { procStart?: string };
    expect(lock.procStart).toBe(procStart(process.pid));
    await expect(openLog({ dir, logger: silent })).rejects.toMatchObject({ code: 'Q_LOG_LOCKED' });
    await log.close();
  });
});
