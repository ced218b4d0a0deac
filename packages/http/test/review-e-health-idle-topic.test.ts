// Review E: a topic's state only turns 'stopped' when a deliver() call rejects with DeliveryClosedError. A
// topic with nothing to send when its engine closes never makes that call: GET /v1/health stays 200 'ok'
// although its delivery is dead, until traffic arrives.
import { afterEach, describe, expect, it } from 'vitest';
import { send, startServer, type TestServer } from './server-support/server.js';
import { startTarget, type Target } from './server-support/target.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('review E: health of an idle topic whose delivery stopped', () => {
  it('defect "health ok while an idle topic cannot deliver": 503 degraded once its engine closed, before any new push', async () => {
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
