// One topic that cannot be opened must not take the others down: the server starts, delivers the
// good topics, says which one failed (health, and a 503 naming the cause for pushes to it).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { send, startServer } from './server-support/server.js';
import { startTarget } from './server-support/target.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('a topic that cannot be opened', () => {
  it('defect "one bad topic fails the whole start": the others start and deliver; health and pushes name the failed one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'q-http-bad-topic-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const target = await startTarget(() => 200);
    cleanups.push(() => target.close());
    // A first life: two topics with a message each, delivered.
    const first = await startServer({}, dir);
    for (const topic of ['good', 'bad']) {
      const a = await send(first.origin, 'POST', `/v1/topics/${topic}/messages`, {
        json: { url: `${target.origin}/${topic}`, json: { topic } },
      });
      expect(a.status, a.text).toBe(201);
    }
    await first.close(true);
    // 'bad' breaks: its log directory is replaced by a file.
    rmSync(join(dir, 'topics', 'bad', 'log'), { recursive: true, force: true });
    writeFileSync(join(dir, 'topics', 'bad', 'log'), 'not a log');

    const server = await startServer({}, dir);
    cleanups.push(() => server.close(true));
    const health = await send(server.origin, 'GET', '/v1/health');
    expect(health.status, health.text).toBe(503);
    expect(health.json).toMatchObject({ status: 'degraded', failed: ['bad'] });
    const good = await send(server.origin, 'POST', '/v1/topics/good/messages', {
      json: { url: `${target.origin}/good`, json: { n: 2 } },
    });
    expect(good.status, good.text).toBe(201);
    await until(
      () => target.requests.filter((r) => r.path === '/good').length >= 2,
      10_000,
      'the good topic delivering',
    );
    const bad = await send(server.origin, 'POST', '/v1/topics/bad/messages', {
      json: { url: `${target.origin}/bad`, json: { n: 2 } },
    });
    expect(bad.status, bad.text).toBe(503);
    expect((bad.json as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'topic_unavailable',
    });
    expect((bad.json as { error: { message: string } }).error.message).toMatch(/bad/);
  }, 30_000);
});
