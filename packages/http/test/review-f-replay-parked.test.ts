// Review F: a replay hands its records to the same engine, where a key's records go one at a time in the
// order they were handed over. Before keyed parking, a replayed record of a key queued in the engine behind
// the key's live records still retrying. Now the key's line is parked (out of the engine), so a replayed
// later record of the key goes first: its first 2xx arrives before an earlier record of the key.
import { join } from 'node:path';
import { silentLogger } from '@q/core';
import { openLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { HttpDeliverer } from '../src/deliverer/http-deliverer.js';
import { tempDir } from './deliverer-target.js';
import { fixedRetryEngine, startSwitchTarget } from './review-f-support.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('review F: replaying records of a parked key', () => {
  it('defect "a replay overtakes a parked key": a replayed q_1 arrives before q_0 of the same key, still parked', async () => {
    const tmp = await tempDir('q-http-review-f-replay-');
    cleanups.push(() => tmp.remove());
    const log = await openLog({ dir: join(tmp.dir, 'log') });
    cleanups.push(() => log.close());
    const target = await startSwitchTarget();
    cleanups.push(() => target.close());
    target.status.set('/k', 503);
    await log.appendBatch([0, 1].map((n) => ({ body: `k${n}`, headers: { 'q-url': target.url('/k'), 'q-key': 'k' } })));
    const deliverer = new HttpDeliverer({
      log,
      deadLetterDir: join(tmp.dir, 'dead-letter'),
      parkDir: join(tmp.dir, 'parked'),
      maxUnfinished: 2,
      commitIntervalMs: 10,
      logger: silentLogger,
      engine: fixedRetryEngine(2_000, 1_000),
    });
    cleanups.push(() => deliverer.close({ timeoutMs: 1_000 }));
    await deliverer.start();
    // q_0 failed once (its retry 2 s away), q_1 waits behind it; the full window parks the key's line.
    await until(() => target.received.length === 1, 5_000, 'the first attempt of q_0');
    await until(() => deliverer.stats().parked === 2, 5_000, "the key's line parked");
    target.status.set('/k', 200);
    await deliverer.replay({ from: 1, to: 1 });
    await until(() => target.firstOk().includes('q_0'), 10_000, 'q_0 delivered');
    // Observed: ['q_1', 'q_0'] (before keyed parking: ['q_0', 'q_1'], the replayed q_1 waiting behind q_0).
    expect(target.firstOk()).toEqual(['q_0', 'q_1']);
  }, 30_000);
});
