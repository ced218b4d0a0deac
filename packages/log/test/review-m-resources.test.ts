// Adversarial review of the zero-fill change: what the fill holds (heap, disk) beside the log's own records.
import { mkdirSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openLog, type SegmentLog } from '@q/log';
import { afterAll, describe, expect, it } from 'vitest';
import { mountSmallTmpfs } from '../../../test-support/small-tmpfs.js';
import { bodyOf, silent, tempLogDir } from './support/log-dir.js';

const tmpfs = mountSmallTmpfs('q-log-review-m', 2);
afterAll(() => tmpfs.dispose());

describe('review-m: resources held by the zero-fill', () => {
  it('many sync-always logs (an http server: a topic, park and dead-letter log per topic) do not each keep a 1 MiB zero buffer', async () => {
    const logs: SegmentLog[] = [];
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 48; i++) {
      const log = await openLog({ dir: tempLogDir(), sync: 'always', logger: silent });
      await log.append(bodyOf(i));
      logs.push(log);
    }
    await new Promise((r) => setTimeout(r, 200));
    const grown = process.memoryUsage().arrayBuffers - before;
    for (const log of logs) await log.close();
    // 48 logs of one 70-byte record each: a shared zero buffer would cost 1 MiB, not 48.
    expect(grown).toBeLessThan(8 * 1024 * 1024);
  });

  it.skipIf(tmpfs.skipReason !== undefined)(
    'a fill that failed on a nearly full disk gives back the space it took: another log on the disk can still append',
    async () => {
      const a = join(tmpfs.dir, 'a');
      const b = join(tmpfs.dir, 'b');
      mkdirSync(a);
      mkdirSync(b);
      const logA = await openLog({ dir: a, sync: 'always', segmentBytes: 4 * 1024 * 1024, logger: silent });
      const logB = await openLog({ dir: b, sync: 'always', preallocateBytes: 0, logger: silent });
      // Leave about 256 KiB free.
      const { bavail, bsize } = statfsSync(tmpfs.dir);
      writeFileSync(join(tmpfs.dir, 'filler'), Buffer.alloc(bavail * bsize - 256 * 1024, 1));
      await logA.append(bodyOf(0)); // starts a 1 MiB fill: it takes all 256 KiB, then ENOSPC
      await new Promise((r) => setTimeout(r, 300));
      const free = statfsSync(tmpfs.dir).bavail * statfsSync(tmpfs.dir).bsize;
      let err: unknown;
      try {
        for (let i = 0; i < 20; i++) await logB.append(bodyOf(i, 1000)); // 20 KB, well under what was free
      } catch (e) {
        err = e;
      }
      await logA.close();
      await logB.close();
      expect(err, `free after A's failed fill: ${free} bytes`).toBeUndefined();
    },
    20_000,
  );
});
