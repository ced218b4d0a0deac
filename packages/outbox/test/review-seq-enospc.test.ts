// Review finding: direct-first needs the disk for nothing but its SEQ reservation (a write every
// 32,768 sequences). On a full disk with a healthy sink, once the reservation is used up every send
// rejects with the raw ENOSPC error: neither whenFull 'block' (wait for space) nor 'reject'
// (OutboxFullError) applies to it.
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mountSmallTmpfs } from '../../../test-support/small-tmpfs.js';
import { outcomeWithin } from '../../../test-support/wait.js';
import { Outbox, OutboxFullError } from '../src/index.js';
import { redisSink, silentLogger } from './support/fixtures.js';

const tmpfs = mountSmallTmpfs('q-outbox-review-seq');
const mnt = tmpfs.dir;
const skipReason = tmpfs.skipReason;
afterAll(() => tmpfs.dispose());

function fill(file: string): void {
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (let i = 0; i < 1024; i++) appendFileSync(file, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
}

const items = Array.from({ length: 1000 }, (_, i) => ({ body: `m${i}` }));

describe.skipIf(skipReason !== undefined)('review: direct-first on a full disk, the sink up', () => {
  for (const whenFull of ['reject', 'block'] as const) {
    it(`whenFull '${whenFull}': a send that needs a new SEQ reservation ${whenFull === 'reject' ? 'rejects with OutboxFullError' : 'waits for space'}`, async () => {
      const dir = join(mnt, whenFull);
      mkdirSync(dir);
      const filler = join(mnt, `filler-${whenFull}`);
      const { sink } = redisSink();
      const outbox = new Outbox({ dir, sink, mode: 'direct-first', whenFull, logger: silentLogger });
      try {
        await outbox.ready();
        fill(filler);
        // 65,536 sequences are reserved at open: these need no disk.
        for (let i = 0; i < 65; i++) await outbox.sendBatch(items);
        const next = outbox.sendBatch(items);
        if (whenFull === 'reject') {
          const error = await next.then(
            () => undefined,
            (err: unknown) => err,
          );
          // Resolving is fine too (nothing needed the disk); a raw fs error is not.
          if (error !== undefined) expect(error).toBeInstanceOf(OutboxFullError);
        } else {
          const outcome = await outcomeWithin(next, 500);
          expect(outcome === 'pending' || outcome === 'resolved', outcome).toBe(true);
          rmSync(filler);
          expect(await outcomeWithin(next, 5000)).toBe('resolved');
        }
      } finally {
        rmSync(filler, { force: true });
        await outbox.close();
        await sink.close();
      }
    }, 60_000);
  }
});
