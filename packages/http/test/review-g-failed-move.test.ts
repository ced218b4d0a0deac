// Review G: a move of a key whose park append fails (a full disk: @q/log's LogFullError, which leaves the
// log running) still bumps the key's placement (`ParkedKeys.move` runs in `withdrew`, before the append, and
// `KeyMoves.failed` never takes it back). The key's line goes back to the engine as records of the OLD
// placement, while a later record of the key read from an older placement is appended as the NEW one. In
// the running process the engine keeps them in order, but the park log now says: the key's current
// placement starts with its later record. A restart (graceful here) counts the keys again from the park log
// (`ParkedKeys.load`), takes the highest gen as the key's placement, and hands that later record to the
// engine at once, while the key's first records, read from the old placement, are moved behind it.
//
// The disk is full for real: the park log lives on a small tmpfs (root only; skipped otherwise) with a
// filler file, so the move of two 1.5 MiB records fails with ENOSPC while a small append fits.
import { execFileSync } from 'node:child_process';
import { mkdir, rm, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger } from '@q/core';
import { openLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { HttpDeliverer, type HttpDelivererOptions } from '../src/deliverer/http-deliverer.js';
import { PARK_GEN, parkRecord } from '../src/deliverer/park-record.js';
import { deadUrl, reviveOn, tempDir } from './deliverer-target.js';
import { startSwitchTarget } from './review-f-support.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const isRoot = process.getuid?.() === 0 && process.platform === 'linux';

describe('review G: a failed move of a key, then a restart', () => {
  it.skipIf(!isRoot)(
    "defect: after a move's append failed (disk full), a later record of the key is stored as the new placement; after a restart it is delivered before the key's first records",
    async () => {
      const tmp = await tempDir('q-http-review-g-move-');
      cleanups.push(() => tmp.remove());
      const mnt = join(tmp.dir, 'small');
      await mkdir(mnt);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mnt]);
      cleanups.push(async () => {
        execFileSync('umount', ['-l', mnt]);
      });
      const slow = await startSwitchTarget();
      cleanups.push(() => slow.close());
      slow.delayMs.set('/slow', 1_500);
      const down = await deadUrl('/down');
      const parkDir = join(mnt, 'parked');
      const now = Date.now();
      const big = Buffer.alloc(1_500_000, 'x');
      const due = { attempts: 1, nextAttemptAt: now, cause: 'ECONNREFUSED' };
      // What a live run parked: key k's first two records (large), six keyless records of a slow endpoint
      // (they fill the park run's window while k's head fails), then k's third record (small).
      const park = await openLog({ dir: parkDir, sync: 'always' });
      await park.appendBatch([
        parkRecord({ id: 'k_0', url: down, key: 'k', body: big }, due),
        parkRecord({ id: 'k_1', url: down, key: 'k', body: big }, due),
        ...Array.from({ length: 6 }, (_, n) =>
          parkRecord({ id: `f_${n}`, url: slow.url('/slow'), body: Buffer.from(`${n}`) }, due),
        ),
        parkRecord({ id: 'k_2', url: down, key: 'k', body: Buffer.from('2') }, due),
      ]);
      await park.close();
      // Leave about 1 MiB free: a move of k's line (3 MiB) fails with ENOSPC, a small record fits.
      const fs = await statfs(mnt);
      const free = fs.bavail * fs.bsize;
      const filler = join(mnt, 'filler');
      await writeFile(filler, Buffer.alloc(free - 1_000_000));

      const log = await openLog({ dir: join(tmp.dir, 'log') });
      cleanups.push(() => log.close());
      const options: HttpDelivererOptions = {
        log,
        deadLetterDir: join(tmp.dir, 'dead-letter'),
        parkDir,
        maxUnfinished: 8,
        commitIntervalMs: 10,
        logger: silentLogger,
        engine: {
          retry: { maxAttempts: 1_000_000, minDelayMs: 200, maxDelayMs: 400, factor: 2, maxAgeMs: 3_600_000 },
          circuit: { failureThreshold: 1_000_000, openMs: 1_000 },
        },
      };
      const errors: string[] = [];
      let deliverer = new HttpDeliverer(options);
      deliverer.on('error', (err: Error) => errors.push(err.message));
      cleanups.push(() => deliverer.close({ timeoutMs: 1_000 }));
      await deliverer.start();

      // Moves of k's line fail (the disk is full). Before the fix, k_2 (small) was then appended alone as the
      // new placement; now it waits, queued behind the line, and nothing of k is stored until the line is.
      await until(
        () => slow.received.length >= 6 && errors.filter((e) => e.includes('full')).length >= 2,
        20_000,
        'moves of the line failing for a full disk',
      );
      const parkedAfterMove = deliverer.stats().parked;
      await deliverer.close({ timeoutMs: 1_000 });
      // What the park log says now, read after the close.
      const view = await openLog({ dir: parkDir, sync: 'always' });
      const records = await view.read(0, { max: 100 });
      await view.close();
      const stored = records
        .filter((r) => r.headers['q-key'] === 'k')
        .map((r) => `${r.headers['q-id']}@${r.headers[PARK_GEN] ?? '0'}`);
      console.log(`review G failed move: park log holds ${stored.join(', ')}; parked ${parkedAfterMove}`);

      // Room again; the endpoint is back; the deliverer is started again on the same directories.
      await rm(filler);
      const revived = await reviveOn(Number(new URL(down).port));
      cleanups.push(() => revived.close());
      deliverer = new HttpDeliverer(options);
      deliverer.on('error', (err: Error) => errors.push(err.message));
      await deliverer.start();
      await until(
        () => ['k_0', 'k_1', 'k_2'].every((id) => revived.okCount(id) > 0),
        20_000,
        'every record of key k delivered after the restart',
      );
      const first: string[] = [];
      for (const id of revived.order) if (!first.includes(id)) first.push(id);
      expect(first, `first 2xx arrivals of key k (park log before the restart: ${stored.join(', ')})`).toEqual([
        'k_0',
        'k_1',
        'k_2',
      ]);
    },
    60_000,
  );
});
