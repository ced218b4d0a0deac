import { openLog } from '@q/log';
import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { silent, tempLogDir } from './support/log-dir.js';

describe('reader', () => {
  it('two readers tail independently and are woken by the writer', async () => {
    const log = await openLog({ dir: tempLogDir(), logger: silent });
    await log.appendBatch(['a0', 'a1', 'a2']);
    const seen1: string[] = [];
    const seen2: string[] = [];
    const r1 = (async () => {
      for await (const r of log.reader()) seen1.push(r.body.toString());
    })();
    const r2 = (async () => {
      for await (const r of log.reader({ from: 2 })) {
        seen2.push(r.body.toString());
        if (seen2.length === 2) break;
      }
    })();
    // No writes: with no polling, nothing happens however long we wait (no timers scheduled by readers).
    await new Promise((r) => setTimeout(r, 30));
    expect(seen1).toEqual(['a0', 'a1', 'a2']);
    await log.append('b3');
    await r2;
    expect(seen2).toEqual(['a2', 'b3']);
    await log.append('b4');
    // The tail read is a file read on the thread pool: on a busy machine it can take more than a few
    // turns of the loop, so wait for it (bounded) rather than count turns.
    await until(() => seen1.length === 5, 5_000, 'the first reader saw b4');
    expect(seen1).toEqual(['a0', 'a1', 'a2', 'b3', 'b4']);
    await log.close();
    await r1;
  });

  it('ends on abort and reads across segment rolls', async () => {
    const log = await openLog({ dir: tempLogDir(), logger: silent, segmentBytes: 1024 });
    const ac = new AbortController();
    const seqs: number[] = [];
    const done = (async () => {
      for await (const r of log.reader({ signal: ac.signal, batch: 7 })) seqs.push(r.seq);
    })();
    for (let i = 0; i < 10; i++) await log.appendBatch(Array.from({ length: 10 }, () => Buffer.alloc(50)));
    while (seqs.length < 100) await new Promise((r) => setImmediate(r));
    ac.abort();
    await done;
    expect(seqs).toEqual(Array.from({ length: 100 }, (_, i) => i));
    await log.close();
  });
});
