// sync: 'always' appends through a descriptor opened with O_DSYNC (each write durable when it returns,
// no separate fdatasync); the other levels do not. Read from /proc/self/fdinfo, so Linux only.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { openLog, type SyncMode } from '@q/log';
import { describe, expect, it } from 'vitest';
import { silent, tempLogDir } from './support/log-dir.js';

const O_DSYNC = 0o10000;
const linux = process.platform === 'linux';

/** The open flags of every descriptor of this process on `path`. */
function flagsOf(path: string): number[] {
  const out: number[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (target !== path) continue;
    const m = /flags:\s*([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    if (m) out.push(Number.parseInt(m[1] as string, 8));
  }
  return out;
}

function activeSegment(dir: string): string {
  const names = readdirSync(join(dir, 'segments'))
    .filter((n) => n.endsWith('.seg'))
    .sort();
  return join(dir, 'segments', names[names.length - 1] as string);
}

describe.skipIf(!linux)('O_DSYNC for sync: always', () => {
  it.each<[SyncMode, boolean]>([
    ['always', true],
    ['none', false],
    [{ intervalMs: 1000 }, false],
  ])(
    'sync %o: the active segment is open with O_DSYNC = %s, after a create, a roll and a reopen',
    async (sync, want) => {
      const dir = tempLogDir();
      let log = await openLog({ dir, sync, segmentBytes: 4096, logger: silent });
      const check = (): void => {
        const flags = flagsOf(activeSegment(dir));
        expect(flags.length).toBeGreaterThan(0);
        for (const f of flags) expect((f & O_DSYNC) !== 0).toBe(want);
      };
      await log.append('x');
      check();
      for (let i = 0; i < 40; i++) await log.append(Buffer.alloc(200, i));
      expect(readdirSync(join(dir, 'segments')).filter((n) => n.endsWith('.seg')).length).toBeGreaterThan(1);
      check();
      await log.close();
      log = await openLog({ dir, sync, segmentBytes: 4096, logger: silent });
      check();
      await log.append('y');
      expect((await log.read(0, { max: 100 })).length).toBe(42);
      await log.close();
    },
  );
});
