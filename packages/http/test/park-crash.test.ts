import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { openLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { forkWorker } from '../../../test-support/fork-worker.js';
import { until } from '../../../test-support/wait.js';
import { HttpDeliverer } from '../src/deliverer/http-deliverer.js';
import { deadUrl, reviveOn, startTarget, tempDir } from './deliverer-target.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const WORKER = new URL('./park-crash-worker.ts', import.meta.url).pathname;

describe('HttpDeliverer parking after a crash (SIGKILL)', () => {
  it('killed while parking under load, a restart delivers every record: none lost', async () => {
    const tmp = await tempDir('q-http-park-crash-');
    cleanups.push(() => tmp.remove());
    const live = await startTarget();
    cleanups.push(() => live.close());
    const down = await deadUrl('/down');
    const logDir = join(tmp.dir, 'log');
    const deadLetterDir = join(tmp.dir, 'dead-letter');
    const parkDir = join(tmp.dir, 'parked');
    const total = 2_000;
    const writer = await openLog({ dir: logDir });
    await writer.appendBatch(
      Array.from({ length: total }, (_, seq) => ({
        body: JSON.stringify({ seq }),
        headers: { 'q-url': seq % 2 === 0 ? down : live.url('/live') },
      })),
    );
    await writer.close();

    const child: ChildProcess = await forkWorker(WORKER, [logDir, deadLetterDir, parkDir]);
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let parked = 0;
    child.on('message', (m: unknown) => {
      if (typeof m === 'object' && m !== null && 'parked' in m) parked = (m as { parked: number }).parked;
    });
    await until(() => parked >= 300, 30_000, 'the worker parking records');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const parkedBeforeKill = parked;

    const target = await reviveOn(Number(new URL(down).port));
    cleanups.push(() => target.close());
    const log = await openLog({ dir: logDir });
    cleanups.push(() => log.close());
    const deliverer = new HttpDeliverer({
      log,
      deadLetterDir,
      parkDir,
      maxUnfinished: 100,
      engine: {
        concurrency: 8,
        retry: { maxAttempts: 1_000_000, minDelayMs: 20, maxDelayMs: 100, factor: 2, maxAgeMs: 3_600_000 },
        circuit: { failureThreshold: 1_000_000, openMs: 100 },
      },
    });
    cleanups.push(() => deliverer.close());
    await deliverer.start();
    const missing = (): string[] => {
      const out: string[] = [];
      for (let seq = 0; seq < total; seq++) {
        const id = `q_${seq}`;
        if (live.okCount(id) === 0 && target.okCount(id) === 0) out.push(id);
      }
      return out;
    };
    await until(() => missing().length === 0, 40_000, 'every record delivered after the restart');
    await until(
      () => deliverer.stats().cursor === total && deliverer.stats().parkedBacklog === 0,
      10_000,
      'both cursors at the end',
    );
    expect(deliverer.stats().deadLetters).toBe(0);
    let twice = 0;
    for (let seq = 0; seq < total; seq += 2) if (target.okCount(`q_${seq}`) > 1) twice++;
    console.log(`park (d): parked ${parkedBeforeKill} before the kill; delivered twice after restart: ${twice}`);
  }, 60_000);
});
