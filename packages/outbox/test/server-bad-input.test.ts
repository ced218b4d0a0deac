// Bad input to the proxy: every case gets a 4xx whose JSON names the problem, and nothing of the
// request is stored (the Redis list and the outbox's counters are checked after a marker message
// that must arrive alone).
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_REQUEST_HEADERS } from '../src/server/app.js';
import { type InProcessProxy, json, startInProcessProxy, waitFor } from './server-support/in-process.js';

const MAX_BODY = 1024;
const MAX_MESSAGES = 50;
let p: InProcessProxy;
beforeAll(async () => {
  p = await startInProcessProxy({
    proxy: { maxBodyBytes: MAX_BODY, maxBatchBytes: 8 * MAX_BODY, maxBatchMessages: MAX_MESSAGES },
  });
});
afterAll(() => p?.dispose());

async function request(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: string | Buffer | Readable,
  headers: Record<string, string> = {},
) {
  const res = await p.http.request({ path, method, body, headers });
  return { status: res.statusCode, headers: res.headers, body: await json(res.body) };
}

/**
 * Sends a marker message and waits for it in Redis: the list must then hold it alone, so whatever
 * was refused before never reached the outbox (the forwarder keeps order).
 */
async function expectNothingStoredBefore(): Promise<void> {
  const acceptedBefore = p.outbox.stats().accepted;
  const marker = `marker ${Math.random()}`;
  expect((await request('POST', '/v1/messages', marker)).status).toBe(200);
  await waitFor('the marker in Redis', async () => (await p.redis.llen(p.key)) >= 1);
  expect(await p.redis.lrange(p.key, 0, -1)).toEqual([marker]);
  expect(p.outbox.stats().accepted).toBe(acceptedBefore + 1);
  await waitFor('an empty backlog', () => p.outbox.stats().backlogMessages === 0);
  await p.redis.del(p.key);
}

describe('bad input to the proxy', () => {
  it('no body, or an empty one: 400 empty_body', async () => {
    for (const body of [undefined, '']) {
      for (const headers of [{}, { 'content-type': 'text/plain' }] as Record<string, string>[]) {
        const r = await request('POST', '/v1/messages', body, headers);
        expect(r.status).toBe(400);
        expect(r.body).toEqual({
          error: { code: 'empty_body', message: 'the request has no body: the body is the message' },
        });
      }
    }
    await expectNothingStoredBefore();
  });

  it('a body over --max-body-bytes: 413 body_too_large naming the limit, with a length or chunked', async () => {
    const big = Buffer.alloc(MAX_BODY + 1, 'x');
    const sized = await request('POST', '/v1/messages', big);
    expect(sized).toMatchObject({
      status: 413,
      body: { error: { code: 'body_too_large', message: `the body is over ${MAX_BODY} bytes`, limit: MAX_BODY } },
    });
    // Without a content-length the limit is counted as the body streams in.
    const chunked = await request('POST', '/v1/messages', Readable.from([big.subarray(0, 600), big.subarray(600)]));
    expect(chunked).toMatchObject({ status: 413, body: { error: { code: 'body_too_large' } } });
    // Exactly at the limit is fine.
    expect((await request('POST', '/v1/messages', big.subarray(0, MAX_BODY))).status).toBe(200);
    await waitFor('the message at the limit', async () => (await p.redis.llen(p.key)) === 1);
    await waitFor('an empty backlog', () => p.outbox.stats().backlogMessages === 0);
    await p.redis.del(p.key);
    await expectNothingStoredBefore();
  });

  it('an unknown route: 404 not_found naming it; a known path with another method: 405 with Allow', async () => {
    const missing = await request('POST', '/v2/messages?x=1', 'body');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: 'not_found', route: 'POST /v2/messages' });
    expect((missing.body.error as { message: string }).message).toMatch(
      /^no route POST \/v2\/messages: the routes are POST \/v1\/messages, POST \/v1\/messages\/batch, GET \/v1\/health, GET \/metrics$/,
    );
    const wrongMethod = await request('GET', '/v1/messages');
    expect(wrongMethod).toMatchObject({
      status: 405,
      headers: { allow: 'POST' },
      body: { error: { code: 'method_not_allowed', message: 'GET /v1/messages: this route takes POST' } },
    });
    await expectNothingStoredBefore();
  });

  it('bad header values: 400 invalid_header naming the header', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ 'q-key': '' }, 'header q-key is empty: leave the header out for a message without a key'],
      [
        { 'idempotency-key': 'k'.repeat(257) },
        'the idempotency-key header must be 1 to 256 visible ASCII characters (got 257 characters)',
      ],
      [
        { 'q-header-q-outbox-id': 'forged:1' },
        'header q-header-q-outbox-id: "q-outbox-id" is reserved (the outbox writes q-outbox-* and q-idempotency-key itself)',
      ],
    ];
    for (const [headers, message] of cases) {
      const r = await request('POST', '/v1/messages', 'body', headers);
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'invalid_header', message });
    }
    await expectNothingStoredBefore();
  });

  it('more header fields than the proxy reads (Node drops those past its cap): 431 too_many_headers', async () => {
    const fill = (n: number): Record<string, string> =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`x${i}`, '1']));
    // Well under the cap (undici adds host and content-length): taken as usual.
    expect((await request('POST', '/v1/messages', 'many headers', fill(MAX_REQUEST_HEADERS - 10))).status).toBe(200);
    await waitFor('the message', async () => (await p.redis.llen(p.key)) === 1);
    await waitFor('an empty backlog', () => p.outbox.stats().backlogMessages === 0);
    await p.redis.del(p.key);
    // Over it, with the idempotency key last (where Node would have dropped it): refused.
    const r = await request('POST', '/v1/messages', 'body', {
      ...fill(MAX_REQUEST_HEADERS),
      'idempotency-key': 'many-headers',
    });
    expect(r).toMatchObject({
      status: 431,
      body: {
        error: {
          code: 'too_many_headers',
          message: `the request has more than ${MAX_REQUEST_HEADERS} header fields: nothing was read or stored`,
          limit: MAX_REQUEST_HEADERS,
        },
      },
    });
    await expectNothingStoredBefore();
  });

  it('a malformed NDJSON line in the middle of a batch: 400 naming the line, nothing of the batch stored', async () => {
    const good = (i: number) => JSON.stringify({ body: `batch ${i}` });
    const bodies = [
      [good(1), good(2), '{"body": "unterminated', good(4), good(5)],
      [good(1), good(2), '{"body": 42}', good(4)],
      [good(1), good(2), '{"body":"x","idempotencyKey":"a b"}', good(4)],
    ];
    for (const lines of bodies) {
      const r = await request('POST', '/v1/messages/batch', `${lines.join('\n')}\n`, {
        'content-type': 'application/x-ndjson',
      });
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'invalid_line', line: 3 });
      expect((r.body.error as { message: string }).message).toMatch(/^line 3: /);
    }
    expect(p.outbox.stats().backlogMessages).toBe(0);
    await expectNothingStoredBefore();
  });

  it('batch bodies: not NDJSON 415, empty 400, a line over the limit 413, too many lines or bytes 413', async () => {
    const line = JSON.stringify({ body: 'a' });
    expect(await request('POST', '/v1/messages/batch', line, { 'content-type': 'application/json' })).toMatchObject({
      status: 415,
      body: { error: { code: 'unsupported_media_type', contentType: 'application/json' } },
    });
    expect(
      await request('POST', '/v1/messages/batch', '\n\n', { 'content-type': 'application/x-ndjson' }),
    ).toMatchObject({
      status: 400,
      body: { error: { code: 'empty_batch' } },
    });
    const tooLong = [line, JSON.stringify({ body: 'x'.repeat(MAX_BODY + 1) })].join('\n');
    expect(
      await request('POST', '/v1/messages/batch', tooLong, { 'content-type': 'application/x-ndjson' }),
    ).toMatchObject({
      status: 413,
      body: { error: { code: 'message_too_large', line: 2, limit: MAX_BODY } },
    });
    const many = Array.from({ length: MAX_MESSAGES + 1 }, (_, i) => JSON.stringify({ body: `m${i}` })).join('\n');
    expect(await request('POST', '/v1/messages/batch', many, { 'content-type': 'application/x-ndjson' })).toMatchObject(
      {
        status: 413,
        body: { error: { code: 'too_many_messages', line: MAX_MESSAGES + 1, limit: MAX_MESSAGES } },
      },
    );
    const huge = Array.from({ length: 20 }, () => JSON.stringify({ body: 'y'.repeat(500) })).join('\n');
    expect(await request('POST', '/v1/messages/batch', huge, { 'content-type': 'application/x-ndjson' })).toMatchObject(
      {
        status: 413,
        body: { error: { code: 'body_too_large', limit: 8 * MAX_BODY } },
      },
    );
    await expectNothingStoredBefore();
  });

  it('the connection stays usable after each refusal (keep-alive)', async () => {
    // Every request above went over one undici Client; a refusal that broke the connection would
    // have shown as a socket error there. Here: a refusal then a success on the same client.
    expect((await request('POST', '/v1/messages')).status).toBe(400);
    expect((await request('POST', '/v1/messages', 'after')).status).toBe(200);
    await waitFor('the message', async () => (await p.redis.llen(p.key)) === 1);
    await waitFor('an empty backlog', () => p.outbox.stats().backlogMessages === 0);
    await p.redis.del(p.key);
  });
});
