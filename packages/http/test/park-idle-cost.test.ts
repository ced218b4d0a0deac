import { join } from 'node:path';
import { silentLogger } from '@q/core';
import { openLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryRun } from '../src/deliverer/delivery-run.js';
import { recordToItem } from '../src/deliverer/record-item.js';
import { DeliveryEngine } from '../src/delivery/delivery-engine.js';
import type { DeliveryItem } from '../src/delivery/types.js';
import { tempDir } from './deliverer-target.js';
import { startTarget, tempDeadLetters } from './engine-target.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

// Found by the http bench: with parking on, a healthy endpoint's records went 6x slower (3,000 against
// 20,000 a second) with nothing to park. Each record read into a full window started a park round,
// which walked a quarter of the window building every record's park headers, and found nothing: no
// record waits for a retry. Counted here by the engine's withdraw() calls, not by time.
describe('parking costs nothing while nothing waits for a retry', () => {
  it('a full window of healthy records starts park rounds on the poll, not on every record', async () => {
    const tmp = await tempDir('q-http-park-idle-');
    cleanups.push(() => tmp.remove());
    const log = await openLog({ dir: join(tmp.dir, 'log'), sync: 'none' });
    cleanups.push(() => log.close());
    const target = await startTarget(() => new Promise((r) => setTimeout(() => r(200), 1)));
    cleanups.push(() => target.close());
    const dl = await tempDeadLetters();
    cleanups.push(() => dl.cleanup());
    const engine = new DeliveryEngine({ deadLetters: dl.deadLetters, concurrency: 8, logger: silentLogger });
    cleanups.push(() => engine.close({ timeoutMs: 1_000 }));
    let withdrawCalls = 0;
    const withdraw = engine.withdraw.bind(engine);
    engine.withdraw = (item: DeliveryItem) => {
      withdrawCalls++;
      return withdraw(item);
    };
    const total = 2_000;
    await log.appendBatch(Array.from({ length: total }, (_, n) => ({ body: `{"n":${n}}` })));
    const cursor = await log.cursor('main');
    let finished = 0;
    let parkCalls = 0;
    let done!: () => void;
    const allDone = new Promise<void>((r) => {
      done = r;
    });
    const run = new DeliveryRun({
      log,
      cursor,
      engine,
      from: 0,
      toItem: (r) => recordToItem(r, { url: target.url, idPrefix: 'q' }),
      maxUnfinished: 100,
      commitIntervalMs: 50,
      finished: () => {
        if (++finished === total) done();
      },
      refuse: () => Promise.reject(new Error('not expected')),
      error: () => undefined,
      park: async () => {
        parkCalls++;
      },
    });
    run.start();
    cleanups.push(async () => run.stop());
    await allDone;
    expect(finished).toBe(total);
    expect(parkCalls).toBe(0);
    // One round every 100 ms of the poll walks at most 25 records; the whole run takes well under the
    // 2,000 records' worth of rounds (one per record read into the full window, before the fix: ~50,000).
    expect(withdrawCalls).toBeLessThan(total);
  }, 60_000);
});
