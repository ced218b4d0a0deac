// A real full disk: a 1 MiB tmpfs. Appends that hit ENOSPC reject with LogFullError and leave nothing
// half-stored; every acknowledged record survives a reopen; appends work again once space returns.
import { appendFileSync, mkdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LogFullError, openLog, type SegmentLog } from '@q/log';
import { afterAll, describe, expect, it } from 'vitest';
import { mountSmallTmpfs } from '../../../test-support/small-tmpfs.js';
import { silent } from './support/log-dir.js';

const tmpfs = mountSmallTmpfs('q-log-enospc');
const mnt = tmpfs.dir;
const skipReason = tmpfs.skipReason;

const open: SegmentLog[] = [];
afterAll(async () => {
  for (const log of open.splice(0)) await log.close().catch(() => undefined);
  tmpfs.dispose();
});

async function openHere(dir: string): Promise<SegmentLog> {
  const log = await openLog({ dir, sync: 'always', segmentBytes: 32 * 1024, logger: silent });
  open.push(log);
  return log;
}

async function closeHere(log: SegmentLog): Promise<void> {
  open.splice(open.indexOf(log), 1);
  await log.close();
}

/** Every stored record as seq → body, checking that seqs run 0, 1, 2, ... without a gap. */
async function stored(log: SegmentLog): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (let from = log.firstSeq; from < log.nextSeq; ) {
    const batch = await log.read(from, { max: 500 });
    expect(batch.length).toBeGreaterThan(0);
    for (const r of batch) {
      expect(r.seq).toBe(from);
      out.set(r.seq, r.body.toString());
      from++;
    }
  }
  return out;
}

function body(appender: number, i: number): string {
  return `a${appender}-r${i}-`.padEnd(700 + ((appender * 37 + i * 11) % 300), String.fromCharCode(97 + appender));
}

describe('ENOSPC on a real full filesystem', () => {
  it.skipIf(skipReason !== undefined)(
    `appends reject with LogFullError, acked records survive, appends resume with space${skipReason ? ` (skipped: ${skipReason})` : ''}`,
    async () => {
      const filler = join(mnt, 'filler');
      writeFileSync(filler, Buffer.alloc(256 * 1024, 1));
      const dir = join(mnt, 'log');
      mkdirSync(dir);
      let log = await openHere(dir);
      const acked = new Map<number, string>();
      const fullErrors: unknown[] = [];
      // Eight appenders until each has seen the disk full; bounded: 1 MiB holds fewer than 1500 records.
      await Promise.all(
        [0, 1, 2, 3, 4, 5, 6, 7].map(async (a) => {
          for (let i = 0; i < 2000; i++) {
            const b = body(a, i);
            try {
              acked.set(await log.append(b), b);
            } catch (err) {
              expect(err).toBeInstanceOf(LogFullError);
              expect((err as LogFullError).code).toBe('Q_LOG_FULL');
              expect(((err as Error).cause as NodeJS.ErrnoException | undefined)?.code).toBe('ENOSPC');
              fullErrors.push(err);
              return;
            }
          }
          throw new Error(`appender ${a} never saw the disk full`);
        }),
      );
      expect(fullErrors).toHaveLength(8);
      expect(acked.size).toBeGreaterThan(100);
      expect(log.nextSeq).toBe(acked.size);
      expect(await stored(log)).toEqual(acked);

      // Space returns: the same log appends again, without a reopen.
      rmSync(filler);
      for (let i = 0; i < 50; i++) {
        const b = body(8, i);
        acked.set(await log.append(b), b);
      }
      await closeHere(log);

      // Full again, then a close and a reopen on the full disk: recovery writes nothing but the LOCK (whose
      // old page the close freed) and empties the last index, so the log opens and reads everything.
      writeFileSync(filler, Buffer.alloc(128 * 1024, 1));
      log = await openHere(dir);
      let fullAgain = false;
      for (let i = 0; i < 2000 && !fullAgain; i++) {
        const b = body(9, i);
        try {
          acked.set(await log.append(b), b);
        } catch (err) {
          expect((err as LogFullError).code).toBe('Q_LOG_FULL');
          fullAgain = true;
        }
      }
      expect(fullAgain).toBe(true);
      await closeHere(log);
      // Up to the last page: only the LOCK's page is left, so an open that wrote anything else would fail.
      const topUp = join(mnt, 'top-up');
      let topped = 0;
      try {
        for (let i = 0; i < 1024; i++) {
          appendFileSync(topUp, Buffer.alloc(4096, 2));
          topped += 4096;
        }
      } catch (err) {
        expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
      }
      truncateSync(topUp, Math.max(0, topped - 4096));
      const atFull = await openHere(dir);
      expect(await stored(atFull)).toEqual(acked);
      await closeHere(atFull);
      rmSync(topUp);
      rmSync(filler);
      log = await openHere(dir);
      expect(await stored(log)).toEqual(acked);
      for (let i = 0; i < 10; i++) {
        const b = body(10, i);
        acked.set(await log.append(b), b);
      }
      await closeHere(log);

      log = await openHere(dir);
      expect(log.recovery.truncatedBytes).toBe(0);
      expect(log.recovery.truncatedSeqs).toBeNull();
      expect(log.nextSeq).toBe(acked.size);
      expect(await stored(log)).toEqual(acked);
      await closeHere(log);
    },
    10_000,
  );
});
