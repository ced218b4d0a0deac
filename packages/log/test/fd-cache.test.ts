// Reads keep at most MAX_OPEN_SEGMENTS sealed segments open: a replay over hundreds of segments used to
// leave one descriptor per segment open until close().
import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { openLog } from '@q/log';
import { describe, expect, it } from 'vitest';
import { MAX_OPEN_SEGMENTS } from '../src/fd-cache.js';
import { silent, tempLogDir } from './support/log-dir.js';

/** Descriptors of this process open on files under `dir`. */
function openUnder(dir: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${dir}/`)) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

describe.skipIf(process.platform !== 'linux')('segment descriptors', () => {
  it(`a replay over 300 segments keeps at most ${MAX_OPEN_SEGMENTS} + 1 open, and every record reads back`, async () => {
    const dir = tempLogDir();
    const log = await openLog({ dir, sync: 'none', segmentBytes: 1024, logger: silent });
    const batch = Array.from({ length: 5 }, (_, i) => Buffer.alloc(150, i));
    for (let i = 0; i < 300; i++) await log.appendBatch(batch);
    const segDir = join(dir, 'segments');
    expect(readdirSync(segDir).filter((n) => n.endsWith('.seg')).length).toBeGreaterThanOrEqual(300);
    let n = 0;
    for await (const r of log.reader({ from: 0, batch: 7 })) {
      expect(r.seq).toBe(n);
      expect(r.body[0]).toBe(n % 5);
      n++;
      if (n === 1500) break;
    }
    // Random reads across the whole log too.
    for (let i = 0; i < 200; i++) {
      const seq = (i * 7919) % 1500;
      const [r] = await log.read(seq, { max: 1 });
      expect(r?.seq).toBe(seq);
    }
    expect(openUnder(segDir)).toBeLessThanOrEqual(MAX_OPEN_SEGMENTS + 1);
    await log.close();
    expect(openUnder(segDir)).toBe(0);
  });
});
