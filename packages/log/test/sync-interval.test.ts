// sync: { intervalMs }: an append resolves after its write, a timer fdatasyncs what was written, close()
// syncs what is pending, and the timer is gone after close.
import { createHook } from 'node:async_hooks';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { openLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { silent, tempLogDir } from './support/log-dir.js';

const INTERVAL = 137;

/** Every real fdatasync the process makes, with when it started and ended (the call itself is Node's). */
const syncs: { fd: number; start: number; end?: number }[] = [];
const realFdatasync = fs.fdatasync;
function observeFdatasync(): void {
  fs.fdatasync = ((fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
    const entry: { fd: number; start: number; end?: number } = { fd, start: performance.now() };
    syncs.push(entry);
    realFdatasync(fd, (err) => {
      entry.end = performance.now();
      cb(err);
    });
  }) as typeof fs.fdatasync;
  syncBuiltinESMExports();
}
afterEach(() => {
  fs.fdatasync = realFdatasync;
  syncBuiltinESMExports();
  syncs.length = 0;
});

/** Timers repeating every INTERVAL ms that exist now (async_hooks sees unref'ed ones too). */
const intervalTimers = new Set<number>();
createHook({
  init(id, type, _trigger, resource) {
    if (type === 'Timeout' && (resource as { _repeat?: number | null })._repeat === INTERVAL) intervalTimers.add(id);
  },
  destroy(id) {
    intervalTimers.delete(id);
  },
}).enable();

const timeouts = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (!cond() && performance.now() < end) await new Promise((r) => setTimeout(r, 5));
  return cond();
}

describe('sync: { intervalMs }', () => {
  it('appends resolve after the write, before a sync; the timer syncs them within about intervalMs', async () => {
    const dir = tempLogDir();
    const timersBefore = timeouts();
    observeFdatasync();
    const log = await openLog({ dir, sync: { intervalMs: INTERVAL }, logger: silent });
    expect(intervalTimers.size).toBe(1);
    const opened = syncs.length;

    const t0 = performance.now();
    const seqs = await Promise.all([0, 1, 2, 3].map((i) => log.append(`r${i}`)));
    const resolvedAt = performance.now();
    expect(seqs.sort()).toEqual([0, 1, 2, 3]);
    // Resolved with no fdatasync since the open: the write alone acknowledged them.
    expect(syncs.length).toBe(opened);
    expect(log.durableSeq).toBe(4);
    expect((await log.read(0)).map((r) => r.body.toString())).toEqual(['r0', 'r1', 'r2', 'r3']);

    // The timer's fdatasync comes within an interval or so (slack for a loaded machine).
    expect(await until(() => syncs.some((s) => s.start >= t0 && s.end !== undefined), 20 * INTERVAL)).toBe(true);
    const timerSync = syncs.find((s) => s.start >= t0) as { start: number };
    expect(timerSync.start).toBeGreaterThanOrEqual(resolvedAt - 1);

    // Idle: nothing written, so no more syncs.
    const afterFirst = syncs.length;
    await new Promise((r) => setTimeout(r, 3 * INTERVAL));
    expect(syncs.length).toBe(afterFirst);

    // Written just before close: close() syncs it, whatever the timer's phase.
    await log.append('last');
    const beforeClose = syncs.length;
    await log.close();
    expect(syncs.length).toBeGreaterThan(beforeClose);
    expect(intervalTimers.size).toBe(0);
    // Ref'ed timers of the test runner come and go; the log adds none that outlive it.
    expect(timeouts()).toBeLessThanOrEqual(timersBefore);

    const again = await openLog({ dir, logger: silent });
    expect((await again.read(0)).map((r) => r.body.toString())).toEqual(['r0', 'r1', 'r2', 'r3', 'last']);
    await again.close();
  });
});
