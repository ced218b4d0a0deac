import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { forkWorker } from '../../../test-support/fork-worker.js';
import { until } from '../../../test-support/wait.js';
import { Outbox } from '../src/index.js';
import { counts, listBodies, redisSink, silentLogger, tempDir, uniqueKey } from './support/fixtures.js';

const worker = fileURLToPath(new URL('./support/crash-worker.ts', import.meta.url));

/** Runs the worker until it reported `resolved` sends, then SIGKILLs it; returns the bodies it reported. */
async function runAndKill(args: string[], resolved: number): Promise<string[]> {
  const ok: string[] = [];
  const child: ChildProcess = await forkWorker(worker, args);
  child.on('message', (m: { ok?: string }) => {
    if (m.ok !== undefined) ok.push(m.ok);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await until(() => ok.length >= resolved, 30_000, `${resolved} sends resolved in the worker`);
  child.kill('SIGKILL');
  await exited;
  return ok;
}

describe('SIGKILL of a process running an Outbox, then a restart on the same directory', () => {
  for (const mode of ['write-ahead', 'direct-first'] as const) {
    it(`${mode}: every send that resolved before the kill is in Redis exactly once`, async () => {
      const url = inject('redisUrl');
      const key = uniqueKey('crash');
      const hwm = `${key}:hwm`;
      const dir = tempDir('crash');
      const resolved: string[] = [];
      for (let round = 0; round < 3; round++)
        resolved.push(...(await runAndKill([dir, url, key, hwm, mode, `r${round}`], 200 + 150 * round)));

      // The next open forwards what the killed ones left in the log, by itself.
      const { sink, redis } = redisSink({ key });
      const outbox = new Outbox({ dir, sink, mode, logger: silentLogger });
      await outbox.ready();
      await until(() => outbox.stats().backlogMessages === 0, 20_000, 'backlog forwarded');
      await outbox.close();
      await sink.close();

      const seen = counts(await listBodies(redis, key));
      expect(resolved.length).toBeGreaterThanOrEqual(200 + 350 + 500);
      for (const body of resolved) expect(seen.get(body), body).toBe(1);
      // Sends in flight at the kill may have arrived too, but nothing arrived twice.
      for (const [body, n] of seen) expect(n, body).toBe(1);
    }, 120_000);
  }
});
