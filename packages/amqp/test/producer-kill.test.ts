import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { forkWorker } from '../../../test-support/fork-worker.js';
import { until } from '../../../test-support/wait.js';
import { admin, Tally, uniqueQueue } from './producer-fixtures.js';

const url = inject('amqpUrl');
const worker = fileURLToPath(new URL('./producer-worker.ts', import.meta.url));

describe('a consumer process SIGKILLed mid-run', () => {
  it('loses nothing: received ⊇ sent, duplicates at most the prefetch per kill', async () => {
    const queue = uniqueQueue('kill');
    const prefetch = 50;
    const kills = 3;
    const a = await admin(url);
    await a.channel.assertQueue(queue, { durable: true });
    const sent = await a.fill(queue, 4000);
    const tally = new Tally();
    const start = async (): Promise<ChildProcess> => {
      const child = await forkWorker(worker, [url, queue, String(prefetch)]);
      child.on('message', (body) => {
        if (typeof body === 'string' && body !== 'ready') tally.add(body);
      });
      return child;
    };
    const exited = (child: ChildProcess): Promise<void> =>
      child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve()
        : new Promise((resolve) => child.once('exit', () => resolve()));
    let child: ChildProcess | undefined;
    try {
      for (let k = 1; k <= kills; k++) {
        child = await start();
        const target = (k * sent.length) / (kills + 1);
        await until(() => tally.counts.size >= target, 30_000, `${target} handled`);
        child.kill('SIGKILL');
        await exited(child);
      }
      child = await start();
      await until(() => tally.missing(sent).length === 0, 30_000, 'every message handled');
      // Everything acked: the last worker's queue empties.
      await until(async () => (await a.ready(queue)) === 0, 10_000, 'queue empty');
    } finally {
      if (child !== undefined) {
        child.kill('SIGTERM');
        await exited(child);
      }
    }
    expect(tally.missing(sent)).toEqual([]);
    expect(tally.duplicates).toBeLessThanOrEqual(kills * prefetch);
    await a.channel.deleteQueue(queue);
    await a.close();
  }, 60_000);
});
