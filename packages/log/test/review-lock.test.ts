// Review findings on LOCK: two writers on one directory lose acknowledged records (the second overwrites
// the first's frames at the same seqs).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LogLockedError, openLog } from '@q/log';
import { describe, expect, it } from 'vitest';
import { silent, tempLogDir } from './support/log-dir.js';

const child = fileURLToPath(new URL('./fixtures/review-lock-child.ts', import.meta.url));
const root = fileURLToPath(new URL('../../..', import.meta.url));

/** Starts three openers, lets them load, then releases them at once; resolves with what each got. */
async function race(dir: string): Promise<string[]> {
  const children = [0, 1, 2].map(() =>
    spawn(process.execPath, ['--conditions=@q/source', '--import', 'tsx', child, dir], {
      cwd: root,
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  const outs = children.map(() => '');
  const ready = children.map(
    (c, i) =>
      new Promise<void>((resolve, reject) => {
        c.stdout.on('data', (d: Buffer) => {
          outs[i] += d.toString();
          if (outs[i]?.includes('READY')) resolve();
        });
        c.once('error', reject);
        c.once('exit', () => reject(new Error(`opener exited early: ${outs[i]}`)));
      }),
  );
  const exited = children.map((c) => new Promise<void>((resolve) => c.once('exit', () => resolve())));
  await Promise.all(ready);
  for (const c of children) c.stdin.write('go\n');
  await Promise.all(exited);
  return outs.map((o) => o.replace('READY', '').trim());
}

describe('review: LOCK', () => {
  it('the same directory spelled another way in the same process is refused, so no acked record is overwritten', async () => {
    const dir = tempLogDir();
    const log = await openLog({ dir, logger: silent });
    await expect(openLog({ dir: `${dir}/`, logger: silent })).rejects.toBeInstanceOf(LogLockedError);
    await expect(openLog({ dir: relative(process.cwd(), dir), logger: silent })).rejects.toBeInstanceOf(LogLockedError);
    expect(await log.append('kept')).toBe(0);
    await log.close();
    const again = await openLog({ dir, logger: silent });
    expect((await again.read(0)).map((r) => r.body.toString())).toEqual(['kept']);
    await again.close();
  });

  it('three processes taking over one dead LOCK at the same moment: exactly one gets it', async () => {
    for (let round = 0; round < 4; round++) {
      const dir = tempLogDir();
      writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: 2 ** 22 + 12345, startedAt: 0 }));
      const outs = await race(dir);
      expect(
        outs.filter((o) => o === 'GOT'),
        `round ${round}: ${outs.join(' | ')}`,
      ).toHaveLength(1);
      expect(outs.filter((o) => o === 'REFUSED Q_LOG_LOCKED')).toHaveLength(2);
    }
  }, 60_000);
});
