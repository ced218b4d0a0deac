// Closing `q-outbox serve` with requests still waiting: its sink is unreachable and its log full
// (--when-full block), so a request is held; SIGTERM answers it 503 closing (never a hang), the
// process exits 0 within its deadline, and the next start on the same directory forwards every
// message that had been answered 200, once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'undici';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { client as redisClient, uniqueKey } from '../../redis/test/support/clients.js';
import { freePort } from '../../redis/test/support/redis-server.js';
import { json, waitFor } from './server-support/in-process.js';
import { type ProxyProcess, startProxyProcess } from './server-support/proxy-process.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function start(args: string[]): Promise<{ proc: ProxyProcess; http: Client }> {
  const proc = await startProxyProcess(args);
  const http = new Client(proc.http);
  cleanups.push(
    () => proc.stop('SIGKILL'),
    () => http.destroy(),
  );
  return { proc, http };
}

describe('q-outbox serve closing', () => {
  it('SIGTERM answers a request held by a full log with 503 closing, exits 0; the next start forwards the rest once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'q-outbox-close-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const key = uniqueKey('outbox-close');
    const small = ['--port', '0', '--segment-bytes', '4096', '--max-bytes', '8192', '--close-timeout-ms', '1000'];
    // Nothing listens on this port: the sink is down from the start.
    const dead = `redis://127.0.0.1:${await freePort()}/${key}`;
    const { proc, http } = await start(['--dir', dir, '--sink', dead, ...small]);

    const accepted: string[] = [];
    let held: Promise<{ status: number; retryAfter: unknown; body: Record<string, unknown> }> | undefined;
    for (let i = 0; i < 100 && held === undefined; i++) {
      const body = `message ${i} ${'x'.repeat(1000)}`;
      const answer = http.request({ path: '/v1/messages', method: 'POST', body }).then(async (res) => ({
        status: res.statusCode,
        retryAfter: res.headers['retry-after'],
        body: await json(res.body),
      }));
      const first = await Promise.race([answer, new Promise<'held'>((r) => setTimeout(() => r('held'), 1000))]);
      if (first === 'held') held = answer;
      else {
        expect(first.status).toBe(200);
        accepted.push(body);
      }
    }
    expect(held).toBeDefined();
    expect(accepted.length).toBeGreaterThan(2);

    const t0 = Date.now();
    proc.child.kill('SIGTERM');
    expect(await held).toEqual({
      status: 503,
      retryAfter: '1',
      body: { error: { code: 'closing', message: 'the proxy is shutting down: nothing was stored, retry later' } },
    });
    expect(await proc.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);

    // Same directory, a sink that works: what was answered 200 arrives, once and in order.
    const redis = redisClient();
    const { proc: next } = await start(['--dir', dir, '--sink', `${inject('redisUrl')}/${key}`, ...small]);
    await waitFor('every accepted message', async () => (await redis.llen(key)) >= accepted.length);
    expect(await redis.lrange(key, 0, -1)).toEqual(accepted);
    expect(await next.stop('SIGTERM')).toBe(0);
  });
});
