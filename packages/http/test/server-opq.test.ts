// OPQ's API on a real server (127.0.0.1:0) delivering to a real node:http target: a push is stored
// durably and reaches its URL as the url-encoded form OPQ sent (whatever the push's own encoding), a
// replay re-sends from a seq on its own cursor, and every malformed request gets a JSON 4xx.
import { FormData } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Answer, send, startServer, type TestServer } from './server-support/server.js';
import { startTarget, type Target } from './server-support/target.js';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

let target: Target;
let server: TestServer;
beforeAll(async () => {
  target = await startTarget();
  server = await startServer({ maxBodyBytes: 64 * 1024 });
});
afterAll(async () => {
  await server?.close();
  await target?.close();
});

function expectError(answer: Answer, status: number, code: string, field?: string): void {
  expect(answer.status, answer.text).toBe(status);
  const error = (answer.json as { error: { code: string; message: string; field?: string } }).error;
  expect(error.code).toBe(code);
  expect(error.message.length).toBeGreaterThan(0);
  if (field !== undefined) expect(error.field).toBe(field);
}

function formOf(body: Buffer): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(body.toString('utf8')));
}

describe('POST /opq/push', () => {
  it('answers 201 success once the record is in the log, and the target gets the url-encoded form', async () => {
    const url = `${target.origin}/hook/urlencoded`;
    const answer = await send(
      server.origin,
      'POST',
      '/opq/push',
      {
        form: { topic: 'orders', url, message: 'hello wörld & more', recorder: 'r1', tag: ['a', 'b'] },
      },
      { traceparent: TRACEPARENT },
    );
    expect(answer.status).toBe(201);
    expect(answer.text).toBe('success');
    // In the log already when the answer came (fdatasync'd: sync 'always'; the SIGKILL test in server-cli checks it).
    const topic = server.server.topics.get('orders');
    expect(topic).toBeDefined();
    const [record] = await (topic?.log.read(0, { max: 1 }) ?? Promise.resolve([]));
    expect(record?.headers['q-url']).toBe(url);
    await target.waitFor((rs) => rs.some((r) => r.path === '/hook/urlencoded'));
    const got = target.requests.find((r) => r.path === '/hook/urlencoded');
    expect(got?.method).toBe('POST');
    expect(got?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(got?.headers['webhook-id']).toBe('orders_0');
    // The push's trace goes on in the delivery.
    expect(got?.headers.traceparent).toBe(TRACEPARENT);
    // Single-valued fields only, OPQ's own among them; the repeated `tag` is dropped as OPQ drops it.
    expect(formOf(got?.body as Buffer)).toEqual({
      topic: 'orders',
      url,
      message: 'hello wörld & more',
      recorder: 'r1',
    });
  });

  it('takes a multipart form (as PHP curl sends an array) and still delivers it url-encoded', async () => {
    const url = `${target.origin}/hook/multipart`;
    const form = new FormData();
    form.append('topic', 'orders');
    form.append('url', url);
    form.append('message', '{"id":7}');
    form.append('extra', 'x y');
    form.append('upload', new Blob(['file bytes']), 'a.txt');
    const answer = await send(server.origin, 'POST', '/opq/push', { formData: form });
    expect(answer.status, answer.text).toBe(201);
    expect(answer.text).toBe('success');
    await target.waitFor((rs) => rs.some((r) => r.path === '/hook/multipart'));
    const got = target.requests.find((r) => r.path === '/hook/multipart');
    expect(got?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(formOf(got?.body as Buffer)).toEqual({ topic: 'orders', url, message: '{"id":7}', extra: 'x y' });
  });

  it('refuses a push without topic or url, with a bad topic name or a bad url: 400 naming the field', async () => {
    const url = `${target.origin}/never`;
    expectError(
      await send(server.origin, 'POST', '/opq/push', { form: { url, message: 'm' } }),
      400,
      'missing_field',
      'topic',
    );
    expectError(
      await send(server.origin, 'POST', '/opq/push', { form: { topic: 't', message: 'm' } }),
      400,
      'missing_field',
      'url',
    );
    expectError(
      await send(server.origin, 'POST', '/opq/push', { form: { topic: 'a.b', url } }),
      400,
      'invalid_topic',
      'topic',
    );
    expectError(
      await send(server.origin, 'POST', '/opq/push', { form: { topic: 'x'.repeat(101), url } }),
      400,
      'invalid_topic',
    );
    expectError(
      await send(server.origin, 'POST', '/opq/push', { form: { topic: 't', url: 'ftp://h/x' } }),
      400,
      'invalid_field',
      'url',
    );
    expectError(
      await send(server.origin, 'POST', '/opq/push', { form: { topic: 't', url: 'not a url' } }),
      400,
      'invalid_field',
      'url',
    );
    expectError(
      await send(server.origin, 'POST', '/opq/push', { form: { topic: ['t', 'u'], url } }),
      400,
      'invalid_field',
      'topic',
    );
    // Nothing was created by the refused pushes.
    expect(server.server.topics.get('t')).toBeUndefined();
    expect(target.requests.some((r) => r.path === '/never')).toBe(false);
  });

  it('refuses another media type with 415 and a body over the limit with 413', async () => {
    const json = { topic: 'orders', url: `${target.origin}/never`, message: 'm' };
    expectError(await send(server.origin, 'POST', '/opq/push', { json }), 415, 'unsupported_media_type');
    expectError(
      await send(server.origin, 'POST', '/opq/push', { raw: 'topic=orders', type: 'text/plain' }),
      415,
      'unsupported_media_type',
    );
    expectError(await send(server.origin, 'POST', '/opq/push', { raw: 'topic=orders' }), 415, 'unsupported_media_type');
    const big = 'x'.repeat(65 * 1024);
    expectError(
      await send(server.origin, 'POST', '/opq/push', { form: { ...json, message: big } }),
      413,
      'body_too_large',
    );
    const form = new FormData();
    form.append('topic', 'orders');
    form.append('url', json.url);
    form.append('message', big);
    expectError(await send(server.origin, 'POST', '/opq/push', { formData: form }), 413, 'body_too_large');
    const malformed = await send(server.origin, 'POST', '/opq/push', {
      raw: '--b\r\ncontent-disposition: form-data; name="topic"\r\n\r\norders\r\n--b--\r\n',
      type: 'multipart/form-data',
    });
    expect(malformed.status).toBeGreaterThanOrEqual(400);
    expect(malformed.status).toBeLessThan(500);
    expect(target.requests.some((r) => r.path === '/never')).toBe(false);
  });
});

describe('POST /opq/replay', () => {
  it('replays from cmd on its own cursor: 201 success, the records are sent again with their ids', async () => {
    const url = `${target.origin}/hook/replay`;
    for (const message of ['r0', 'r1', 'r2'])
      expect(
        (await send(server.origin, 'POST', '/opq/push', { form: { topic: 'replayed', url, message } })).status,
      ).toBe(201);
    await target.waitFor((rs) => rs.filter((r) => r.path === '/hook/replay').length === 3);
    const answer = await send(server.origin, 'POST', '/opq/replay', { form: { topic: 'replayed', cmd: '1' } });
    expect(answer.status, answer.text).toBe(201);
    expect(answer.text).toBe('success');
    await target.waitFor((rs) => rs.filter((r) => r.path === '/hook/replay').length === 5);
    const ids = target.requests.filter((r) => r.path === '/hook/replay').map((r) => r.headers['webhook-id']);
    expect(ids.slice(0, 3).sort()).toEqual(['replayed_0', 'replayed_1', 'replayed_2']);
    expect(ids.slice(3).sort()).toEqual(['replayed_1', 'replayed_2']);
  });

  it('answers 404 for an unknown topic, 400 for a missing or bad cmd and for a start past the end', async () => {
    expectError(
      await send(server.origin, 'POST', '/opq/replay', { form: { topic: 'nope', cmd: '0' } }),
      404,
      'unknown_topic',
    );
    expectError(
      await send(server.origin, 'POST', '/opq/replay', { form: { cmd: '0' } }),
      400,
      'missing_field',
      'topic',
    );
    expectError(
      await send(server.origin, 'POST', '/opq/replay', { form: { topic: 'replayed' } }),
      400,
      'missing_field',
      'cmd',
    );
    expectError(
      await send(server.origin, 'POST', '/opq/replay', { form: { topic: 'replayed', cmd: '-1' } }),
      400,
      'invalid_field',
      'cmd',
    );
    expectError(
      await send(server.origin, 'POST', '/opq/replay', { form: { topic: 'replayed', cmd: 'x' } }),
      400,
      'invalid_field',
      'cmd',
    );
    expectError(
      await send(server.origin, 'POST', '/opq/replay', { form: { topic: 'replayed', cmd: '3' } }),
      400,
      'replay_range',
    );
    expectError(
      await send(server.origin, 'POST', '/opq/replay', { json: { topic: 'replayed', cmd: '0' } }),
      415,
      'unsupported_media_type',
    );
  });
});
