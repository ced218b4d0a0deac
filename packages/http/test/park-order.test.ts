import { join } from 'node:path';
import { silentLogger } from '@q/core';
import { openLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { HttpDeliverer } from '../src/deliverer/http-deliverer.js';
import { parkRecord } from '../src/deliverer/park-record.js';
import { startTarget, tempDir } from './deliverer-target.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

// Parked records come back at their retry time, whatever was parked before them: a record whose retry
// is hours away (back-off grows to a day) must not hold back one parked after it and due now.
describe('the park run hands each record at its own time', () => {
  it('defect "a late parked record holds back the ones after it": a record due now is delivered while one parked before it waits for its time', async () => {
    const tmp = await tempDir('q-http-park-order-');
    cleanups.push(() => tmp.remove());
    const target = await startTarget();
    cleanups.push(() => target.close());
    const parkDir = join(tmp.dir, 'parked');
    const park = await openLog({ dir: parkDir });
    const now = Date.now();
    const item = (id: string) => ({ id, url: target.url('/hook'), body: Buffer.from(`{"id":"${id}"}`) });
    await park.appendBatch([
      parkRecord(item('late'), { attempts: 3, nextAttemptAt: now + 3_600_000, cause: 'HTTP 503' }),
      parkRecord(item('due-1'), { attempts: 1, nextAttemptAt: now, cause: 'HTTP 503' }),
      parkRecord(item('due-2'), { attempts: 2, nextAttemptAt: now + 200, cause: 'HTTP 503' }),
    ]);
    await park.close();
    const log = await openLog({ dir: join(tmp.dir, 'log') });
    cleanups.push(() => log.close());
    const deliverer = new HttpDeliverer({
      log,
      deadLetterDir: join(tmp.dir, 'dead-letter'),
      parkDir,
      logger: silentLogger,
    });
    cleanups.push(() => deliverer.close({ timeoutMs: 1_000 }));
    await deliverer.start();
    await until(() => target.okCount('due-1') === 1 && target.okCount('due-2') === 1, 10_000, 'the due records');
    expect(target.okCount('late')).toBe(0);
    // Held for its time, it is unfinished: the park cursor stays below it, a restart reads it again. (The
    // target counts an answer before the deliverer has read it: wait for the two due ones to finish here.)
    await until(() => deliverer.stats().parkedBacklog <= 1, 10_000, 'the due records finished');
    const { parkedBacklog, state } = deliverer.stats();
    expect({ parkedBacklog, state }).toEqual({ parkedBacklog: 1, state: 'running' });
  });
});
