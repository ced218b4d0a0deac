import { readdirSync } from 'node:fs';
import { LogClosedError, openLog } from '@q/log';
import { describe, expect, it } from 'vitest';
import { silent, tempLogDir } from './support/log-dir.js';

const RECORDS = 40_000;
const READS = 60;
const MAX = 12_000;
const body = (seq: number): string => `record-${seq}-`.padEnd(200, String(seq % 10));
const openFds = (): number => readdirSync('/proc/self/fd').length;

describe('read racing close()', () => {
  it('every read under way completes with the right records or rejects with LogClosedError; no fd outlives close', async () => {
    const dir = tempLogDir();
    // 4 MiB segments, so one read refills its 1 MiB buffer several times from the same descriptor.
    const options = { dir, logger: silent, segmentBytes: 4 * 1024 * 1024 };
    const writer = await openLog(options);
    for (let i = 0; i < RECORDS; i += 1000)
      await writer.appendBatch(Array.from({ length: 1000 }, (_, j) => body(i + j)));
    await writer.close();
    const outcomes: string[] = [];
    for (let round = 0; round < 3; round++) {
      const fdsBefore = openFds();
      // Reopened each round, so the old segments' descriptors are opened by the reads themselves.
      const log = await openLog(options);
      const reads = Array.from({ length: READS }, (_, i) => {
        const from = (i * 7919 + round * 131) % RECORDS;
        return log.read(from, { max: MAX }).then(
          (records) => {
            const want = Math.min(MAX, RECORDS - from);
            const right =
              records.length === want &&
              records.every((r, k) => r.seq === from + k && r.body.toString() === body(from + k));
            outcomes.push(right ? 'completed' : `wrong records from ${from}`);
          },
          (err: unknown) => outcomes.push(err instanceof LogClosedError ? 'closed' : `error ${String(err)}`),
        );
      });
      const closing = log.close();
      await expect(log.read(0)).rejects.toBeInstanceOf(LogClosedError);
      await Promise.all(reads);
      await closing;
      await expect(log.read(0)).rejects.toBeInstanceOf(LogClosedError);
      expect(openFds()).toBe(fdsBefore);
    }
    expect(outcomes.filter((o) => o !== 'completed' && o !== 'closed')).toEqual([]);
    expect(outcomes).toHaveLength(3 * READS);
  });
});
