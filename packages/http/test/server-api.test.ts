// The JSON API on a real server (127.0.0.1:0) delivering to a real node:http target: push, replay,
// topic state, dead letters (list, redrive), endpoint re-enable, health, metrics; and the JSON 4xx
// of every malformed request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Answer, send, startServer, type TestServer } from './server-support/server.js';
import { startTarget, type Target } from './server-support/target.js';

let target: Target;
let server: TestServer;
beforeAll(async () => {
  target = await startTarget((r) => (r.path.startsWith('/status/') ? Number(r.path.slice('/status/'.length)) : 200));
  server = await startServer({
    maxBodyBytes: 16 * 1024,
    delivery: { retry: { minDelayMs: 20, maxDelayMs: 100, maxAttempts: 2 } },
  });
});
afterAll(async () => {
  await server?.close();
  await target?.close();
});

function expectError(answer: Answer, status: number, code: string, field?: string): void {
  expect(answer.status, answer.text).toBe(status);
  const error = (answer.json as { error: { code: string; message: string; field?: string } }).error;
  expect(error.code).toBe(code);
  if (field !== undefined) expect(error.field).toBe(field);
}

const post = (path: string, json: unknown): Promise<Answer> => send(server.origin, 'POST', path, { json });

describe('POST /v1/topics/:topic/messages', () => {
  it('answers 201 { id, seq } once stored; the target gets the body, headers, key and a stable id', async () => {
    const url = `${target.origin}/api/json`;
    const a = await post('/v1/topics/api/messages', {
      url,
      json: { n: 1 },
      headers: { 'X-Tenant': 't1', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    });
    expect(a.status, a.text).toBe(201);
    expect(a.json).toEqual({ id: 'api_0', seq: 0 });
    const b = await post('/v1/topics/api/messages', {
      url,
      body: 'plain text',
      contentType: 'text/plain',
      id: 'order-42',
      key: 'k1',
    });
    expect(b.json).toEqual({ id: 'order-42', seq: 1 });
    await target.waitFor((rs) => rs.filter((r) => r.path === '/api/json').length === 2);
    const [first, second] = ['api_0', 'order-42'].map((id) =>
      target.requests.find((r) => r.headers['webhook-id'] === id),
    );
    expect(first?.body.toString()).toBe('{"n":1}');
    expect(first?.headers['content-type']).toBe('application/json');
    expect(first?.headers['x-tenant']).toBe('t1');
    expect(first?.headers.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(first?.headers['idempotency-key']).toBe('api_0');
    expect(second?.body.toString()).toBe('plain text');
    expect(second?.headers['content-type']).toBe('text/plain');
  });

  it('refuses malformed requests with a JSON 4xx naming the problem', async () => {
    const url = `${target.origin}/never`;
    expectError(await post('/v1/topics/api/messages', { json: 1 }), 400, 'missing_field', 'url');
    expectError(await post('/v1/topics/api/messages', { url: 'mailto:x@y' }), 400, 'invalid_field', 'url');
    expectError(await post('/v1/topics/a.b/messages', { url }), 400, 'invalid_topic');
    expectError(await post(`/v1/topics/${'x'.repeat(101)}/messages`, { url }), 400, 'invalid_topic');
    expectError(await post('/v1/topics/api/messages', { url, body: 'a', json: 1 }), 400, 'invalid_field', 'body');
    expectError(await post('/v1/topics/api/messages', { url, body: 5 }), 400, 'invalid_field', 'body');
    expectError(await post('/v1/topics/api/messages', { url, id: 'a.b' }), 400, 'invalid_field', 'id');
    expectError(await post('/v1/topics/api/messages', { url, key: '' }), 400, 'invalid_field', 'key');
    expectError(
      await post('/v1/topics/api/messages', { url, headers: { 'webhook-id': 'x' } }),
      400,
      'invalid_field',
      'headers.webhook-id',
    );
    expectError(await post('/v1/topics/api/messages', { url, headers: { 'bad name': 'x' } }), 400, 'invalid_field');
    expectError(
      await post('/v1/topics/api/messages', { url, headers: { x: 'a\r\nb: c' } }),
      400,
      'invalid_field',
      'headers.x',
    );
    expectError(await post('/v1/topics/api/messages', { url, sneaky: 1 }), 400, 'invalid_field', 'sneaky');
    expectError(await post('/v1/topics/api/messages', [url]), 400, 'invalid_field');
    expectError(
      await send(server.origin, 'POST', '/v1/topics/api/messages', { raw: '{"url":', type: 'application/json' }),
      400,
      'invalid_json',
    );
    expectError(
      await send(server.origin, 'POST', '/v1/topics/api/messages', {
        raw: `url=${url}`,
        type: 'application/x-www-form-urlencoded',
      }),
      415,
      'unsupported_media_type',
    );
    expectError(
      await send(server.origin, 'POST', '/v1/topics/api/messages', { raw: '{}', type: 'text/plain' }),
      415,
      'unsupported_media_type',
    );
    expectError(await post('/v1/topics/api/messages', { url, body: 'x'.repeat(17 * 1024) }), 413, 'body_too_large');
    expect(target.requests.some((r) => r.path === '/never')).toBe(false);
  });
});

describe('replay, state, dead letters, endpoints', () => {
  it('POST /v1/topics/:topic/replay answers 202 { from, to } and re-sends the range; past the end is 400', async () => {
    const url = `${target.origin}/api/replay`;
    for (let i = 0; i < 3; i++) expect((await post('/v1/topics/rp/messages', { url, json: i })).status).toBe(201);
    await target.waitFor((rs) => rs.filter((r) => r.path === '/api/replay').length === 3);
    const other = `${target.origin}/api/replay-elsewhere`;
    const answer = await post('/v1/topics/rp/replay', { from: 1, to: 2, url: other });
    expect(answer.status, answer.text).toBe(202);
    expect(answer.json).toEqual({ from: 1, to: 2 });
    await target.waitFor((rs) => rs.filter((r) => r.path === '/api/replay-elsewhere').length === 2);
    expect(
      target.requests
        .filter((r) => r.path === '/api/replay-elsewhere')
        .map((r) => r.headers['webhook-id'])
        .sort(),
    ).toEqual(['rp_1', 'rp_2']);
    expectError(await post('/v1/topics/rp/replay', { from: 3 }), 400, 'replay_range');
    expectError(await post('/v1/topics/rp/replay', { from: 0, to: 3 }), 400, 'replay_range');
    expectError(await post('/v1/topics/rp/replay', { from: 2, to: 1 }), 400, 'replay_range');
    expectError(await post('/v1/topics/rp/replay', { from: -1 }), 400, 'invalid_field', 'from');
    expectError(await post('/v1/topics/rp/replay', {}), 400, 'missing_field', 'from');
    expectError(await post('/v1/topics/nope/replay', { from: 0 }), 404, 'unknown_topic');
  });

  it('GET /v1/topics/:topic reports the deliverer state; an unknown topic is 404', async () => {
    const answer = await send(server.origin, 'GET', '/v1/topics/rp');
    expect(answer.status).toBe(200);
    const state = answer.json as Record<string, unknown>;
    expect(state.topic).toBe('rp');
    expect(state.nextSeq).toBe(3);
    for (const field of ['cursor', 'backlog', 'unfinished', 'delivered', 'deadLettered', 'endpoints', 'deadLetters'])
      expect(state).toHaveProperty(field);
    expectError(await send(server.origin, 'GET', '/v1/topics/nope'), 404, 'unknown_topic');
    const list = await send(server.origin, 'GET', '/v1/topics');
    expect((list.json as { topics: string[] }).topics).toEqual(expect.arrayContaining(['api', 'rp']));
  });

  it('a refused message is dead-lettered, listed, and re-driven with its id', async () => {
    let refuse = true;
    const previous = target.answer;
    target.answer = (r) => (r.path === '/api/dl' && refuse ? 422 : previous(r));
    try {
      const pushed = await post('/v1/topics/dl/messages', {
        url: `${target.origin}/api/dl`,
        json: { v: 'x' },
        headers: { 'x-a': '1' },
      });
      expect(pushed.status).toBe(201);
      const deadline = Date.now() + 10_000;
      let list: Answer;
      do {
        await new Promise((resolve) => setTimeout(resolve, 20));
        list = await send(server.origin, 'GET', '/v1/topics/dl/dead-letters');
      } while ((list.json as { count: number }).count === 0 && Date.now() < deadline);
      const body = list.json as { count: number; deadLetters: Record<string, unknown>[] };
      expect(body.count).toBe(1);
      expect(body.deadLetters[0]).toMatchObject({ id: 'dl_0', reason: 'rejected', status: 422, body: '{"v":"x"}' });
      expectError(await send(server.origin, 'GET', '/v1/topics/dl/dead-letters?max=0'), 400, 'invalid_field', 'max');
      expectError(await send(server.origin, 'GET', '/v1/topics/dl/dead-letters?from=x'), 400, 'invalid_field', 'from');
      refuse = false;
      const redrive = await post('/v1/topics/dl/dead-letters/redrive', {});
      expect(redrive.status, redrive.text).toBe(200);
      expect(redrive.json).toEqual({ redriven: 1, redrivenThrough: 1 });
      // The refused attempt, then the re-driven one: same id, body and headers.
      await target.waitFor((rs) => rs.filter((r) => r.path === '/api/dl').length === 2);
      const again = target.requests.filter((r) => r.path === '/api/dl')[1];
      expect(again?.headers['webhook-id']).toBe('dl_0');
      expect(again?.headers['x-a']).toBe('1');
      expect(again?.body.toString()).toBe('{"v":"x"}');
      expectError(await post('/v1/topics/dl/dead-letters/redrive', { from: 'a' }), 400, 'invalid_field', 'from');
    } finally {
      target.answer = previous;
    }
  });

  it('a 410 disables the endpoint; POST .../endpoints/enable re-enables it', async () => {
    const url = `${target.origin}/status/410`;
    expect((await post('/v1/topics/gone/messages', { url, json: 1 })).status).toBe(201);
    const deadline = Date.now() + 10_000;
    let state: { endpoints: { url: string; circuit: string }[] } = { endpoints: [] };
    while (!state.endpoints.some((e) => e.circuit === 'disabled') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      state = (await send(server.origin, 'GET', '/v1/topics/gone')).json as typeof state;
    }
    expect(state.endpoints.find((e) => e.url === url)?.circuit).toBe('disabled');
    const answer = await post('/v1/topics/gone/endpoints/enable', { url });
    expect(answer.status, answer.text).toBe(200);
    expect((answer.json as { endpoint: { circuit: string } }).endpoint.circuit).toBe('closed');
    expectError(await post('/v1/topics/gone/endpoints/enable', {}), 400, 'missing_field', 'url');
    expectError(await post('/v1/topics/nope/endpoints/enable', { url }), 404, 'unknown_topic');
  });
});

describe('health, metrics, unknown routes', () => {
  it('GET /v1/health is 200 ok; GET /metrics has the per-topic series', async () => {
    const health = await send(server.origin, 'GET', '/v1/health');
    expect(health.status).toBe(200);
    expect(health.json).toMatchObject({ status: 'ok' });
    const metrics = await send(server.origin, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/q_http_accepted_total\{topic="api"\} 2/);
    expect(metrics.text).toMatch(/q_http_delivered_total\{topic="api"\} 2/);
    expect(metrics.text).toMatch(/q_http_dead_lettered_total\{topic="dl"\} 1/);
    expect(metrics.text).toMatch(/q_http_backlog_messages\{topic="rp"\} 0/);
    expect(metrics.text).toMatch(/q_http_retries_total\{topic="api"\} 0/);
    expect(metrics.text).toMatch(
      /q_http_http_requests_total\{route="\/v1\/topics\/:topic\/messages",method="POST",status="201"\}/,
    );
  });

  it('answers 404 for an unknown route and 405 for a known path with another method', async () => {
    expectError(await send(server.origin, 'GET', '/v2/nothing'), 404, 'not_found');
    const wrong = await send(server.origin, 'GET', '/opq/push');
    expectError(wrong, 405, 'method_not_allowed');
    expect(wrong.headers.allow).toBe('POST');
    expectError(await send(server.origin, 'DELETE', '/v1/topics/api'), 405, 'method_not_allowed');
  });
});
