// Review E: close() now races the run's drain with engine.idle(). A record the engine refused as invalid
// is dead-lettered by the deliverer itself (refuse → deadLetters.add), outside the engine: idle() does not
// see that write, so close() commits the cursor before it is stored. The dead letter lands anyway (the log's
// close waits for it), the cursor stays below the record, and the next start dead-letters it again.
import { join } from 'node:path';
import { silentLogger } from '@q/core';
import { openLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { HttpDeliverer } from '../src/deliverer/http-deliverer.js';
import { DeadLetters } from '../src/delivery/dead-letters.js';
import { startTarget, tempDir } from './deliverer-target.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('review E: close while refused records are being dead-lettered', () => {
  it('defect "close skips the refuse write": a clean close then restart stores one dead letter per invalid record', async () => {
    const tmp = await tempDir('q-http-review-e-refuse-');
    cleanups.push(() => tmp.remove());
    const target = await startTarget();
    cleanups.push(() => target.close());
    const log = await openLog({ dir: join(tmp.dir, 'log') });
    cleanups.push(() => log.close());
    const total = 200;
    const body = Buffer.alloc(32 * 1024, 'x');
    // A `q-id` holding "." is refused by the engine (InvalidItemError): the deliverer dead-letters it.
    await log.appendBatch(Array.from({ length: total }, (_, n) => ({ body, headers: { 'q-id': `bad.${n}` } })));
    const deadLetterDir = join(tmp.dir, 'dead-letter');
    const options = { log, deadLetterDir, url: target.url('/hook'), logger: silentLogger };

    const first = new HttpDeliverer(options);
    await first.start();
    // Refusals under way: records handed out, none in the engine.
    for (let i = 0; i < 100_000 && first.stats().unfinished === 0; i++) await new Promise((r) => setImmediate(r));
    expect(first.stats().unfinished).toBeGreaterThan(0);
    await first.close({ timeoutMs: 5_000 });
    const cursorAfterClose = (await log.cursor('http')).position;

    const second = new HttpDeliverer(options);
    cleanups.push(() => second.close({ timeoutMs: 1_000 }));
    await second.start();
    await until(() => second.stats().cursor === total, 15_000, 'the second run through the log');
    await second.close({ timeoutMs: 1_000 });

    const deadLetters = await DeadLetters.open({ dir: deadLetterDir, logger: silentLogger });
    cleanups.push(() => deadLetters.close());
    const letters = await deadLetters.list({ max: 10_000 });
    const perId = new Map<string, number>();
    for (const l of letters) perId.set(l.item.id, (perId.get(l.item.id) ?? 0) + 1);
    const twice = [...perId.values()].filter((n) => n > 1).length;
    expect(
      { deadLetters: letters.length, idsDeadLetteredTwice: twice },
      `cursor after the first close: ${cursorAfterClose}`,
    ).toEqual({ deadLetters: total, idsDeadLetteredTwice: 0 });
  }, 30_000);
});
