import { join } from 'node:path';
import { type AppendInput, openLog, type SegmentLog } from '@q/log';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { HttpDeliverer, type HttpDelivererOptions } from '../src/deliverer/http-deliverer.js';
import type { RetryInfo } from '../src/delivery/engine-events.js';
import type { DeliveryItem } from '../src/delivery/types.js';
import { startTarget, type Target, tempDir } from './deliverer-target.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function append(log: SegmentLog, target: Target, from: number, count: number): Promise<void> {
  const batch: AppendInput[] = [];
  for (let seq = from; seq < from + count; seq++) {
    const headers: Record<string, string> = { 'q-url': target.url('/hook') };
    if (seq % 3 === 0) headers['q-key'] = `k${seq % 30}`;
    batch.push({ body: JSON.stringify({ seq }), headers });
  }
  await log.appendBatch(batch);
}

describe('HttpDeliverer restart', () => {
  it('closed and reopened mid-run on the same log, it resumes by itself from the committed cursor and loses nothing', async () => {
    const tmp = await tempDir('q-http-restart-');
    cleanups.push(() => tmp.remove());
    const target = await startTarget({ seed: 7, faults: (path) => (path === '/warm' ? {} : { fail500: 0.1 }) });
    cleanups.push(() => target.close());
    await (await request(target.url('/warm'), { method: 'POST', body: '{}' })).body.dump();
    const log = await openLog({ dir: join(tmp.dir, 'log') });
    cleanups.push(() => log.close());
    const first = 6_000;
    await append(log, target, 0, first);

    const timedOut = new Set<string>();
    const options: HttpDelivererOptions = {
      log,
      deadLetterDir: join(tmp.dir, 'dead-letter'),
      maxUnfinished: 500,
      engine: {
        concurrency: 8,
        timeoutMs: 1_000,
        retry: { maxAttempts: 50, minDelayMs: 5, maxDelayMs: 50, factor: 2 },
        circuit: { failureThreshold: 1_000, openMs: 100 },
      },
    };
    const open = async (): Promise<HttpDeliverer> => {
      const d = new HttpDeliverer(options);
      cleanups.push(() => d.close());
      d.on('retry', (item: DeliveryItem, info: RetryInfo) => {
        if (info.cause.startsWith('timeout')) timedOut.add(item.id);
      });
      await d.start();
      return d;
    };
    const ids = (n: number) => Array.from({ length: n }, (_, seq) => `q_${seq}`);
    const delivered = (n: number) => ids(n).filter((id) => target.okCount(id) > 0).length;

    const a = await open();
    await until(() => delivered(first) >= first / 3, 30_000, 'a third delivered');
    // No time to finish what is in flight: those records stay unfinished, the cursor stays below them.
    await a.close({ timeoutMs: 0 });
    expect(a.stats().unfinished).toBeGreaterThan(0);
    expect(a.stats().unfinished).toBeLessThanOrEqual(options.maxUnfinished as number);
    const committed = (await log.cursor('http')).position;
    expect(committed).toBe(a.stats().cursor);
    expect(committed).toBeGreaterThan(0);
    expect(committed).toBeLessThan(first);
    // Never past an unfinished record: everything below the cursor got its 2xx.
    for (let seq = 0; seq < committed; seq++) expect(target.okCount(`q_${seq}`)).toBeGreaterThan(0);
    const okBefore = new Map(ids(first).map((id) => [id, target.okCount(id)]));
    const sentBefore = target.received.length;

    const b = await open();
    expect(b.stats().cursor).toBe(committed);
    await append(log, target, first, 1_000);
    const total = first + 1_000;
    await until(() => b.stats().cursor === total, 40_000, 'the cursor reaching the end');
    expect(b.stats().deadLettered).toBe(0);
    await b.close();

    for (const id of ids(total)) expect(target.okCount(id)).toBeGreaterThan(0);
    // After the restart nothing below the committed cursor was sent again.
    for (const r of target.received.slice(sentBefore)) {
      if (r.path === '/warm') continue;
      expect(Number((r.id as string).slice(2))).toBeGreaterThanOrEqual(committed);
    }
    // What was sent twice: finished before the close above the lowest unfinished record (a cursor is one
    // position: it does not record those), or answered after a timeout.
    for (const id of ids(first)) {
      const before = okBefore.get(id) ?? 0;
      if (before > 0 && target.okCount(id) > before) {
        expect(Number(id.slice(2)) >= committed || timedOut.has(id)).toBe(true);
      }
    }
    expect((await log.cursor('http')).position).toBe(total);
  }, 60_000);
});
