// Review finding (fsyncgate): once an fdatasync failed, nothing more is acknowledged. With
// `sync: { intervalMs }` a group whose write was under way while the interval sync failed was still
// acknowledged after the log had reported LogSyncError.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { LogSyncError, openLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { silent, tempLogDir } from './support/log-dir.js';

const realWrite = fs.write;
const realFdatasync = fs.fdatasync;
afterEach(() => {
  fs.write = realWrite;
  fs.fdatasync = realFdatasync;
  syncBuiltinESMExports();
});

describe('review: a failed fdatasync', () => {
  it('with sync intervalMs, a group written while the interval sync fails is rejected, not acknowledged', async () => {
    const dir = tempLogDir();
    const log = await openLog({ dir, sync: { intervalMs: 5 }, logger: silent });
    await log.append('before');
    let release: (() => void) | undefined;
    let held = false;
    // Hold the next record write (not index writes, which go through other descriptors) until released.
    fs.write = ((...args: unknown[]) => {
      if (!held && args.length === 6) {
        held = true;
        const go = (): void => void Reflect.apply(realWrite, fs, args);
        release = go;
        return;
      }
      return Reflect.apply(realWrite, fs, args);
    }) as typeof fs.write;
    let failed: () => void = () => undefined;
    const syncFailed = new Promise<void>((resolve) => {
      failed = resolve;
    });
    fs.fdatasync = ((_fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
      const err = Object.assign(new Error('EIO: injected'), { code: 'EIO' });
      setImmediate(() => {
        cb(err);
        failed();
      });
    }) as typeof fs.fdatasync;
    syncBuiltinESMExports();
    const during = log.append('during').then(
      (seq) => `acknowledged ${seq}`,
      (err: unknown) => err,
    );
    // The interval sync fails while the write is held: the log is stopped.
    await syncFailed;
    await expect(log.append('after')).rejects.toBeInstanceOf(LogSyncError);
    expect(release).toBeDefined();
    release?.();
    expect(await during).toBeInstanceOf(LogSyncError);
    await log.close();
  });

  it("with sync 'always', a record write that fails with EIO (the durable write of an O_DSYNC descriptor) stops the log: nothing of it or after it is acknowledged", async () => {
    const dir = tempLogDir();
    const log = await openLog({ dir, sync: 'always', logger: silent });
    expect(await log.append('before')).toBe(0);
    let failures = 0;
    fs.write = ((...args: unknown[]) => {
      const cb = args[args.length - 1];
      if (args.length === 6 && typeof cb === 'function') {
        failures++;
        const err = Object.assign(new Error('EIO: injected'), { code: 'EIO' });
        setImmediate(() => (cb as (e: Error) => void)(err));
        return;
      }
      return Reflect.apply(realWrite, fs, args);
    }) as typeof fs.write;
    syncBuiltinESMExports();
    const results = await Promise.allSettled([log.append('a'), log.append('b'), log.append('c')]);
    expect(failures).toBeGreaterThan(0);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(LogSyncError);
    }
    fs.write = realWrite;
    syncBuiltinESMExports();
    await expect(log.append('after')).rejects.toBeInstanceOf(LogSyncError);
    expect(log.durableSeq).toBe(1);
    await log.close();
    const again = await openLog({ dir, logger: silent });
    const records = await again.read(0, { max: 10 });
    expect(records.map((r) => r.body.toString())).toEqual(['before']);
    await again.close();
  });
});
