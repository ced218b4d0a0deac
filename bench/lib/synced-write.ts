/**
 * The disk's synced-write limit as `pnpm bench log` measures it, shared with `pnpm bench outbox` so
 * both suites compare against the same loop: one file, `writev` of N records then `fdatasync`, again
 * and again for a fixed time.
 */
import { closeSync, fdatasync, openSync, rmSync, writev } from 'node:fs';
import { promisify } from 'node:util';

const writevP = promisify(writev);
const fdatasyncP = promisify(fdatasync);

/** A record of `size` bytes, one of 26 fillings (`a` to `z`) chosen by `i`. */
export const bodyOf = (size: number, i: number): Buffer => Buffer.alloc(size, 97 + (i % 26));

/**
 * Runs `concurrency` loops of `op` for `seconds`; returns operations per second. The loops stop on a
 * flag a timer sets rather than reading the clock after every operation: 256 clock reads per group of
 * appends would be charged to the appenders and not to the raw loop, which runs one iteration per group.
 */
export async function timedLoops(
  seconds: number,
  concurrency: number,
  op: (i: number) => Promise<unknown>,
): Promise<number> {
  let stop = false;
  const timer = setTimeout(() => {
    stop = true;
  }, seconds * 1000);
  let done = 0;
  const t0 = performance.now();
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (!stop) {
          await op(done);
          done++;
        }
      }),
    );
  } finally {
    clearTimeout(timer);
  }
  return (done / (performance.now() - t0)) * 1000;
}

/**
 * Records per second that a loop of `writev` of `n` records of `size` bytes then `fdatasync` reaches
 * in `seconds`, writing to `file` (created, removed after).
 */
export async function rawSyncedWrite(file: string, n: number, size: number, seconds: number): Promise<number> {
  const fd = openSync(file, 'w');
  const batch = Array.from({ length: n }, (_, i) => bodyOf(size, i));
  try {
    const rate = await timedLoops(seconds, 1, async () => {
      await writevP(fd, batch);
      await fdatasyncP(fd);
    });
    return rate * n;
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
}
