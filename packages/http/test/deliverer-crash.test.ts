import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { openLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { forkWorker } from '../../../test-support/fork-worker.js';
import { until } from '../../../test-support/wait.js';
import { HttpDeliverer } from '../src/deliverer/http-deliverer.js';
import { startTarget, tempDir } from './deliverer-target.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const WORKER = new URL('./deliverer-crash-worker.ts', import.meta.url).pathname;

describe('HttpDeliverer after a crash (SIGKILL)', () => {
  it('the durable cursor never passed an unfinished record; a new deliverer resumes there and loses nothing', async () => {
    const tmp = await tempDir('q-http-crash-');
    cleanups.push(() => tmp.remove());
    const target = await startTarget({ seed: 11, faults: { fail500: 0.1 } });
    cleanups.push(() => target.close());
    const logDir = join(tmp.dir, 'log');
    const deadLetterDir = join(tmp.dir, 'dead-letter');
    const total = 5_000;
    const writer = await openLog({ dir: logDir });
    await writer.appendBatch(
      Array.from({ length: total }, (_, seq) => ({
        body: JSON.stringify({ seq }),
        headers: { 'q-url': target.url('/crash'), ...(seq % 4 === 0 ? { 'q-key': `k${seq % 16}` } : {}) },
      })),
    );
    await writer.close();

    const child: ChildProcess = await forkWorker(WORKER, [logDir, deadLetterDir]);
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const okCount = () => {
      let n = 0;
      for (let seq = 0; seq < total; seq++) if (target.okCount(`q_${seq}`) > 0) n++;
      return n;
    };
    await until(() => okCount() >= total / 3, 30_000, 'a third delivered by the worker');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    const log = await openLog({ dir: logDir });
    cleanups.push(() => log.close());
    const committed = (await log.cursor('http')).position;
    expect(committed).toBeGreaterThan(0);
    expect(committed).toBeLessThan(total);
    for (let seq = 0; seq < committed; seq++) expect(target.okCount(`q_${seq}`), `q_${seq}`).toBeGreaterThan(0);
    const sentBefore = target.received.length;

    const deliverer = new HttpDeliverer({
      log,
      deadLetterDir,
      engine: { concurrency: 8, retry: { maxAttempts: 50, minDelayMs: 5, maxDelayMs: 50, factor: 2 } },
    });
    cleanups.push(() => deliverer.close());
    await deliverer.start();
    await until(() => deliverer.stats().cursor === total, 40_000, 'the cursor reaching the end');
    for (let seq = 0; seq < total; seq++) expect(target.okCount(`q_${seq}`)).toBeGreaterThan(0);
    for (const r of target.received.slice(sentBefore))
      expect(Number((r.id as string).slice(2))).toBeGreaterThanOrEqual(committed);
  }, 60_000);
});
