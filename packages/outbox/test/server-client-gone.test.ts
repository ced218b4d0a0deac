// A client that goes away while its message waits for room (sink down, log full, whenFull 'block')
// takes its message with it: the proxy aborts that send when the connection closes, so the body is
// not held for a client that is gone, and it is never stored; everything answered 200 is.
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../../redis/test/support/redis-server.js';
import { type InProcessProxy, startInProcessProxy, waitFor } from './server-support/in-process.js';

let server: RedisServer;
let p: InProcessProxy;
beforeAll(async () => {
  server = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  p = await startInProcessProxy({
    redisUrl: server.url,
    outbox: { segmentBytes: 4096, maxBytes: 8192, whenFull: 'block', retry: { minDelayMs: 20, maxDelayMs: 200 } },
  });
});
afterAll(async () => {
  await p?.dispose();
  await server?.dispose();
});

describe('a client gone while its send waits for room', () => {
  it('its send is aborted and never stored; every message answered 200 arrives once', async () => {
    await server.stop();
    const client = new Client(p.url);
    const accepted: string[] = [];
    let held: Promise<unknown> | undefined;
    let heldBody = '';
    for (let i = 0; i < 100 && held === undefined; i++) {
      const body = `message ${i} ${'x'.repeat(1000)}`;
      const answer = client.request({ path: '/v1/messages', method: 'POST', body }).then(async (res) => {
        await res.body.dump();
        return res.statusCode;
      });
      const first = await Promise.race([answer, new Promise<'held'>((r) => setTimeout(() => r('held'), 1000))]);
      if (first === 'held') {
        held = answer.catch(() => 'connection destroyed');
        heldBody = body;
      } else {
        expect(first).toBe(200);
        accepted.push(body);
      }
    }
    expect(held).toBeDefined();
    const acceptedBefore = p.outbox.stats().accepted;
    await client.destroy();
    expect(await held).toBe('connection destroyed');

    await server.start();
    await waitFor('an empty backlog', () => p.outbox.stats().backlogMessages === 0 && p.outbox.stats().sink === 'up');
    // A send still waiting for room retries its append at least every 500 ms (the outbox's back-off
    // cap): given three times that, it would have been stored by now.
    await new Promise((r) => setTimeout(r, 1500));
    expect(p.outbox.stats().accepted).toBe(acceptedBefore);
    const marker = await p.http.request({ path: '/v1/messages', method: 'POST', body: 'marker' });
    expect(marker.statusCode).toBe(200);
    await marker.body.dump();
    await waitFor('the marker in Redis', async () => (await p.redis.lindex(p.key, -1)) === 'marker');
    const list = await p.redis.lrange(p.key, 0, -1);
    expect(list).toEqual([...accepted, 'marker']);
    expect(list).not.toContain(heldBody);
  });
});
