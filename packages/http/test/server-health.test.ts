// GET /v1/health says when a topic no longer delivers: a load balancer or an orchestrator that
// watches it must see a server whose delivery stopped, not "ok".
import { afterEach, describe, expect, it } from 'vitest';
import { send, startServer, type TestServer } from './server-support/server.js';
import { startTarget, type Target } from './server-support/target.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('GET /v1/health', () => {
  it('defect "health stays ok": is 503 naming the topic once its delivery stopped (its engine closed), 200 before', async () => {
    const target: Target = await startTarget(() => 200);
    cleanups.push(() => target.close());
    const server: TestServer = await startServer();
    cleanups.push(() => server.close());
    const pushed = await send(server.origin, 'POST', '/v1/topics/t1/messages', {
      json: { url: `${target.origin}/a`, json: { n: 1 } },
    });
    expect(pushed.status, pushed.text).toBe(201);
    const ok = await send(server.origin, 'GET', '/v1/health');
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ status: 'ok', topics: 1 });

    // Something closes the topic's delivery engine under its running deliverer: delivery stops.
    const topic = server.server.topics.topics().find((t) => t.name === 't1');
    expect(topic).toBeDefined();
    await topic?.deliverer.engine.close({ timeoutMs: 100 });
    const pushedAfter = await send(server.origin, 'POST', '/v1/topics/t1/messages', {
      json: { url: `${target.origin}/a`, json: { n: 2 } },
    });
    expect(pushedAfter.status, pushedAfter.text).toBe(201);
    let health = await send(server.origin, 'GET', '/v1/health');
    for (let i = 0; i < 50 && health.status === 200; i++) {
      await new Promise((r) => setTimeout(r, 20));
      health = await send(server.origin, 'GET', '/v1/health');
    }
    expect(health.status, health.text).toBe(503);
    expect(health.json).toMatchObject({ status: 'degraded', stopped: ['t1'] });
    expect(topic?.deliverer.stats().state).toBe('stopped');
  });

  it('defect "health ok while an idle topic cannot deliver" (review E): 503 degraded once its engine closed, before any new push', async () => {
    const target: Target = await startTarget(() => 200);
    cleanups.push(() => target.close());
    const server: TestServer = await startServer();
    cleanups.push(() => server.close());
    const pushed = await send(server.origin, 'POST', '/v1/topics/t1/messages', {
      json: { url: `${target.origin}/a`, json: { n: 1 } },
    });
    expect(pushed.status, pushed.text).toBe(201);
    const topic = server.server.topics.topics().find((t) => t.name === 't1');
    for (let i = 0; i < 200 && topic?.deliverer.stats().delivered !== 1; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(topic?.deliverer.stats().delivered).toBe(1);

    // A topic with nothing to send never calls deliver(): the engine's own state must be read.
    await topic?.deliverer.engine.close({ timeoutMs: 100 });
    let health = await send(server.origin, 'GET', '/v1/health');
    for (let i = 0; i < 50 && health.status === 200; i++) {
      await new Promise((r) => setTimeout(r, 20));
      health = await send(server.origin, 'GET', '/v1/health');
    }
    expect({ status: health.status, state: topic?.deliverer.stats().state }, health.text).toEqual({
      status: 503,
      state: 'stopped',
    });
  });
});
