// Review F: the park run never parks a keyed record again, so a key whose endpoint stays down keeps its
// records in the park run's window (maxUnfinished), failing head first and the rest waiting behind it in the
// engine. The park run then reads nothing more. docs/http.md says this "can hold back other parked retries,
// never the live log" — but every later record a parked key reads from the live log is routed to the park
// log, behind that full window: a key whose own endpoint is healthy again (it failed once, got parked)
// gets none of its new records delivered while another endpoint is down (up to maxAgeMs, 3 days by default).
import { join } from 'node:path';
import { silentLogger } from '@q/core';
import { openLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { delay, until } from '../../../test-support/wait.js';
import { HttpDeliverer } from '../src/deliverer/http-deliverer.js';
import { deadUrl, tempDir } from './deliverer-target.js';
import { fixedRetryEngine, startSwitchTarget } from './review-f-support.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('review F: a down endpoint of one key fills the park run window', () => {
  it('defect "a parked key is held back by another key\'s down endpoint": new live records of a key whose endpoint answers again are not delivered', async () => {
    const tmp = await tempDir('q-http-review-f-window-');
    cleanups.push(() => tmp.remove());
    const log = await openLog({ dir: join(tmp.dir, 'log') });
    cleanups.push(() => log.close());
    const target = await startSwitchTarget();
    cleanups.push(() => target.close());
    const down = await deadUrl('/down');
    // Key k: six records to an endpoint that stays down. Key j: four records to /j, down for now.
    target.status.set('/j', 503);
    await log.appendBatch([
      ...Array.from({ length: 6 }, (_, n) => ({ body: `k${n}`, headers: { 'q-url': down, 'q-key': 'k' } })),
      ...Array.from({ length: 4 }, (_, n) => ({ body: `j${n}`, headers: { 'q-url': target.url('/j'), 'q-key': 'j' } })),
    ]);
    const deliverer = new HttpDeliverer({
      log,
      deadLetterDir: join(tmp.dir, 'dead-letter'),
      parkDir: join(tmp.dir, 'parked'),
      maxUnfinished: 4,
      commitIntervalMs: 10,
      logger: silentLogger,
      engine: fixedRetryEngine(300),
    });
    cleanups.push(() => deliverer.close({ timeoutMs: 1_000 }));
    await deliverer.start();
    // Both lines parked (k's first, then j's), the live cursor past all ten.
    await until(() => deliverer.stats().cursor === 10, 10_000, 'both keys parked, the live cursor at the end');
    // /j answers again; j gets new records in the live log.
    target.status.set('/j', 200);
    await log.appendBatch(
      Array.from({ length: 4 }, (_, n) => ({
        body: `j${4 + n}`,
        headers: { 'q-url': target.url('/j'), 'q-key': 'j' },
      })),
    );
    await delay(5_000);
    const jDelivered = target.firstOk().length;
    const s = deliverer.stats();
    // Observed: 0 of 8 (cursor 14, parked 14, parkedBacklog 14: the park run's window holds k0..k3, retrying /down).
    expect(
      jDelivered,
      `records of key j delivered within 5 s of /j answering; cursor ${s.cursor}, parked ${s.parked}, parkedBacklog ${s.parkedBacklog}`,
    ).toBe(8);
  }, 30_000);
});
