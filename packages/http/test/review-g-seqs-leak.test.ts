// Review G: `RunItems` keeps a reverse map item -> seq (`#seqs`, new in 8be0f09). A park round whose append
// fails hands its records back to the engine as NEW item objects (`#sendBack`: `{ ...item, attempts,
// notBefore }`); `RunItems.set(seq, newItem)` overwrites the forward entry, but the old item stays in `#seqs`
// for good (`delete(seq)` only removes the current item's entry). While the park log refuses appends (a full
// disk: `LogFullError`, which leaves the log running) a round fails every 100 ms, and each leaks up to half
// a window of item objects, and with them their bodies once the records are delivered.
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { LogFullError, openLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { DeliveryRun } from '../src/deliverer/delivery-run.js';
import { recordToItem } from '../src/deliverer/record-item.js';
import { DeliveryEngine } from '../src/delivery/delivery-engine.js';
import type { DeliveryItem } from '../src/delivery/types.js';
import { tempDir } from './deliverer-target.js';
import { startTarget, tempDeadLetters } from './engine-target.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const quiet = { error() {}, warn() {}, info() {}, debug() {} };
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('review G: failed park rounds and the run items', () => {
  it('defect: the items a failed round hands back stay referenced by the run after the records finished', async () => {
    const tmp = await tempDir('q-http-review-g-leak-');
    cleanups.push(() => tmp.remove());
    const log = await openLog({ dir: join(tmp.dir, 'log') });
    cleanups.push(() => log.close());
    let up = false;
    const target = await startTarget(() => (up ? 200 : 503));
    cleanups.push(() => target.close());
    const dl = await tempDeadLetters();
    cleanups.push(() => dl.cleanup());
    const engine = new DeliveryEngine({
      deadLetters: dl.deadLetters,
      timeoutMs: 1_000,
      retry: { maxAttempts: 1_000_000, minDelayMs: 200, maxDelayMs: 400, factor: 2, maxAgeMs: 3_600_000 },
      circuit: { failureThreshold: 1_000_000, openMs: 1_000 },
      logger: quiet,
    });
    cleanups.push(() => engine.close({ timeoutMs: 1_000 }));
    const total = 40;
    await log.appendBatch(Array.from({ length: total }, (_, seq) => ({ body: Buffer.alloc(64 * 1024, seq) })));
    const cursor = await log.cursor('main');
    const handed: Array<WeakRef<DeliveryItem>> = [];
    const finished = new Set<number>();
    let failedRounds = 0;
    const run = new DeliveryRun({
      log,
      cursor,
      engine,
      from: 0,
      to: total - 1,
      toItem: (r) => recordToItem(r, { url: target.url, idPrefix: 'q' }),
      maxUnfinished: 40,
      commitIntervalMs: 5,
      finished: (item) => finished.add(item.seq as number),
      refuse: () => Promise.reject(new Error('not expected')),
      error: () => undefined,
      handing: (item) => handed.push(new WeakRef(item)),
      park: async () => {
        failedRounds++;
        throw new LogFullError('The disk is full (ENOSPC): append not stored (test)');
      },
    });
    run.start();
    await until(() => failedRounds >= 10, 20_000, 'ten failed park rounds');
    up = true;
    await until(() => finished.size === total, 20_000, 'every record delivered');
    run.stop();
    await run.drained();
    await run.commitNow();
    expect(cursor.position).toBe(total);
    // Nothing of the run is unfinished: no item it handed over needs to stay in memory.
    for (let i = 0; i < 5; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    const alive = handed.filter((w) => w.deref() !== undefined).length;
    console.log(
      `review G leak: ${failedRounds} failed rounds, ${handed.length} items handed, ${alive} still reachable (run unfinished ${run.unfinished})`,
    );
    expect(alive, 'items handed over still reachable after every record finished').toBe(0);
  }, 60_000);
});
