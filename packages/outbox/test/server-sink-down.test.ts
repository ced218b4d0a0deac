// The proxy while its Redis is down (a redis-server of the test's own, stopped and started again):
// messages are still answered 200 (they are safe in the log), /v1/health and /metrics say the sink
// is down, health turns 503 past unhealthyAfterSinkDownMs, a full log with whenFull 'reject'
// answers 503 outbox_full with Retry-After, and once Redis is back every accepted message is in the
// list exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../../redis/test/support/redis-server.js';
import { type InProcessProxy, json, startInProcessProxy, waitFor } from './server-support/in-process.js';

let server: RedisServer;
let p: InProcessProxy;
beforeAll(async () => {
  // Append-only with fsync, so what Redis had before the stop is there after the start.
  server = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  p = await startInProcessProxy({
    redisUrl: server.url,
    proxy: { unhealthyAfterSinkDownMs: 300 },
    outbox: { segmentBytes: 4096, maxBytes: 8192, whenFull: 'reject', retry: { minDelayMs: 20, maxDelayMs: 200 } },
  });
});
afterAll(async () => {
  await p?.dispose();
  await server?.dispose();
});

async function get(path: string) {
  const res = await p.http.request({ path, method: 'GET' });
  return { status: res.statusCode, text: await res.body.text() };
}

describe('the proxy while the sink is down', () => {
  it('answers 200 from the log, reports the sink down, refuses with 503 when full, delivers everything once after', async () => {
    const accepted: string[] = [];
    const send = async (body: string) => {
      const res = await p.http.request({ path: '/v1/messages', method: 'POST', body });
      const answer = { status: res.statusCode, headers: res.headers, body: await json(res.body) };
      if (answer.status === 200) accepted.push(body);
      return answer;
    };
    expect((await send('before')).status).toBe(200);
    await waitFor('the first message in Redis', async () => (await p.redis.llen(p.key)) === 1);

    await server.stop();
    expect((await send('while down 0')).status).toBe(200);
    await waitFor('the sink seen down', () => p.outbox.stats().sink === 'down');
    const degraded = await get('/v1/health');
    expect(degraded.status).toBe(200);
    expect(JSON.parse(degraded.text)).toMatchObject({ status: 'degraded', sink: 'down', backlogMessages: 1 });
    await waitFor('health past the threshold', async () => (await get('/v1/health')).status === 503);
    const unhealthy = JSON.parse((await get('/v1/health')).text) as { status: string; sinkDownForMs: number };
    expect(unhealthy.status).toBe('unhealthy');
    expect(unhealthy.sinkDownForMs).toBeGreaterThan(300);
    expect((await get('/metrics')).text).toMatch(/^q_outbox_sink_up\{outbox="[^"]+"\} 0$/m);

    // 8 KiB of log at most: 700-byte messages fill it within a few dozen.
    let full: Awaited<ReturnType<typeof send>> | undefined;
    for (let i = 1; i <= 100 && full === undefined; i++) {
      const r = await send(`while down ${i} ${'x'.repeat(700)}`);
      if (r.status !== 200) full = r;
    }
    expect(full).toMatchObject({
      status: 503,
      headers: { 'retry-after': '1' },
      body: { error: { code: 'outbox_full', message: 'the outbox is full: nothing was stored, retry later' } },
    });
    expect(accepted.length).toBeGreaterThan(3);

    await server.start();
    await waitFor('every accepted message in Redis', async () => (await p.redis.llen(p.key)) >= accepted.length);
    await waitFor('an empty backlog', () => p.outbox.stats().backlogMessages === 0);
    expect(await p.redis.lrange(p.key, 0, -1)).toEqual(accepted);
    await waitFor('health ok again', async () => JSON.parse((await get('/v1/health')).text).status === 'ok');
    // Room again: the proxy takes messages.
    expect((await send('after')).status).toBe(200);
  });
});
