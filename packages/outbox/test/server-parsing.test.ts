// The proxy's pure parsers: NDJSON batches (every line checked, the first bad one named), request
// headers into a message, and --sink URLs.

import { InvalidOptionError, QueueError } from '@q/core';
import { HttpError } from '@q/core/internal';
import { RecordTooLargeError } from '@q/log';
import { OutboxClosedError, OutboxFullError } from '@q/outbox';
import { describe, expect, it } from 'vitest';
import { parseSinkUrl } from '../src/cli/sink-url.js';
import { toHttpError } from '../src/server/app.js';
import { messageFromHeaders } from '../src/server/message-input.js';
import { parseBatch } from '../src/server/ndjson.js';

/** The HttpError `fn` throws. */
function refusal(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error('no HttpError thrown');
}

const batch = (...lines: string[]): Buffer => Buffer.from(lines.join('\n'));

describe('parseBatch', () => {
  it('reads body, bodyBase64, key, headers and idempotencyKey, skipping blank lines and \\r', () => {
    const messages = parseBatch(
      batch(
        '{"body":"héllo"}\r',
        '',
        JSON.stringify({ bodyBase64: Buffer.from([0, 255, 1]).toString('base64'), key: 'k', headers: { a: 'b' } }),
        '{"body":"x","idempotencyKey":"order-17"}',
        '',
      ),
      1024,
    );
    expect(messages).toEqual([
      { body: Buffer.from('héllo') },
      { body: Buffer.from([0, 255, 1]), key: 'k', headers: { a: 'b' } },
      { body: Buffer.from('x'), idempotencyKey: 'order-17' },
    ]);
  });

  it.each([
    ['{"body":"a"', /^line 3: not JSON/],
    ['[1,2]', /^line 3: not a JSON object$/],
    ['{"body":42}', /^line 3: "body" must be a string/],
    ['{"Body":"a"}', /^line 3: unknown field "Body"/],
    ['{"key":"k"}', /^line 3: has no "body"/],
    ['{"body":""}', /^line 3: the body is empty$/],
    ['{"body":"a","bodyBase64":"YQ=="}', /^line 3: has both "body" and "bodyBase64"/],
    ['{"bodyBase64":"not base64!"}', /^line 3: "bodyBase64" is not base64/],
    ['{"body":"a","key":""}', /^line 3: "key" must be a non-empty string/],
    ['{"body":"a","headers":{"n":1}}', /^line 3: header "n" must be a string$/],
    ['{"body":"a","headers":["x"]}', /^line 3: "headers" must be an object/],
    ['{"body":"a","headers":{"q-outbox-id":"o:1"}}', /^line 3: .*"q-outbox-id" is reserved/],
    ['{"body":"a","headers":{"__proto__":"x"}}', /^line 3: .*"__proto__" is not a usable name/],
    ['{"body":"a","idempotencyKey":""}', /^line 3: "idempotencyKey" must be 1 to 256 visible ASCII/],
    ['{"body":"a","idempotencyKey":"has space"}', /^line 3: "idempotencyKey" must be 1 to 256/],
    ['{"body":"a","idempotencyKey":"k1"}', /^line 3: idempotencyKey repeats the one of line 1$/],
  ])('a bad line in the middle (%s) is named with its number, whatever follows', (bad, message) => {
    const error = refusal(() =>
      parseBatch(batch('{"body":"a","idempotencyKey":"k1"}', '{"body":"b"}', bad, '{"body":"c"}'), 1024),
    );
    expect(error).toMatchObject({ status: 400, code: 'invalid_line', details: { line: 3 } });
    expect(error.message).toMatch(message);
  });

  it('more messages than maxMessages: 413 too_many_messages at the first one over (blank lines do not count)', () => {
    expect(parseBatch(batch('{"body":"1"}', '', '{"body":"2"}', '{"body":"3"}', ''), 1024, 3)).toHaveLength(3);
    const error = refusal(() =>
      parseBatch(batch('{"body":"1"}', '', '{"body":"2"}', '{"body":"3"}', '{"body":"4"}'), 1024, 3),
    );
    expect(error).toMatchObject({
      status: 413,
      code: 'too_many_messages',
      message: 'the batch has more than 3 messages: split it',
      details: { line: 5, limit: 3 },
    });
    // Refused before the line is parsed: a line past the limit that is not even JSON gets the 413.
    expect(refusal(() => parseBatch(batch('{"body":"1"}', 'not json'), 1024, 1))).toMatchObject({
      code: 'too_many_messages',
    });
  });

  it('a line that is not UTF-8 (a raw byte, or a \\u escape of a lone surrogate) is refused, never replaced', () => {
    const good = Buffer.from('{"body":"a"}\n{"body":"\u00e9\ud83d\ude00 \\ud83d\\ude00"}\n');
    expect(parseBatch(good, 1024)).toEqual([{ body: Buffer.from('a') }, { body: Buffer.from('\u00e9😀 😀') }]);
    for (const bad of [
      Buffer.from([0x7b, 0x22, 0x62, 0x6f, 0x64, 0x79, 0x22, 0x3a, 0x22, 0xc3, 0x22, 0x7d]), // {"body":"<c3>"}
      Buffer.from('{"body":"\\ud800"}'),
      Buffer.from('{"body":"a","key":"\\udc00"}'),
      Buffer.from('{"body":"a","headers":{"h":"x\\ud83d"}}'),
      Buffer.from('{"body":"a","headers":{"\\udfff":"x"}}'),
    ]) {
      const error = refusal(() => parseBatch(Buffer.concat([good, bad, Buffer.from('\n{"body":"c"}')]), 1024));
      expect(error).toMatchObject({ status: 400, code: 'invalid_line', details: { line: 3 } });
      expect(error.message).toMatch(/^line 3: .*not valid UTF-8/);
    }
  });

  it('a body over the limit is 413 naming the line; an empty batch is 400', () => {
    expect(
      refusal(() => parseBatch(batch('{"body":"ok"}', JSON.stringify({ body: 'x'.repeat(11) })), 10)),
    ).toMatchObject({
      status: 413,
      code: 'message_too_large',
      message: 'line 2: the body is over 10 bytes',
      details: { line: 2 },
    });
    expect(refusal(() => parseBatch(batch('', '  ', ''), 10))).toMatchObject({ status: 400, code: 'empty_batch' });
  });
});

describe('toHttpError', () => {
  it("maps the outbox's refusals to 503 with Retry-After, 413 and 400", () => {
    expect(toHttpError(new OutboxFullError('full'), 10)).toMatchObject({
      status: 503,
      code: 'outbox_full',
      retryAfterSeconds: 1,
    });
    expect(toHttpError(new OutboxClosedError('/d'), 10)).toMatchObject({
      status: 503,
      code: 'closing',
      retryAfterSeconds: 1,
    });
    expect(toHttpError(new RecordTooLargeError(20, 10), 10)).toMatchObject({ status: 413, code: 'message_too_large' });
    expect(toHttpError(new InvalidOptionError('key', 1, 'a string'), 10)).toMatchObject({
      status: 400,
      code: 'invalid_message',
      message: 'Invalid option "key": got 1, expected a string',
    });
  });

  it('a 500 says nothing of the error: no message, no stack, no cause', () => {
    for (const error of [
      new Error('ENOENT /secret/path at x.js:1'),
      new QueueError('internal detail'),
      'a string',
      null,
    ]) {
      const answer = toHttpError(error, 10);
      expect(answer.status).toBe(500);
      expect(JSON.stringify(answer.body())).toBe(
        '{"error":{"code":"internal","message":"internal error: see the proxy log"}}',
      );
    }
  });
});

describe('messageFromHeaders', () => {
  const body = Buffer.from('m');

  it('takes q-key as bytes (ASCII as a string), q-header-* as UTF-8 headers and idempotency-key; ignores others', () => {
    const latin1 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');
    expect(
      messageFromHeaders(body, {
        'q-key': latin1('clé'),
        'q-header-trace': 'abc',
        'q-header-name': latin1('Zoë'),
        'idempotency-key': 'req-1',
        'content-type': 'text/plain',
        'q-other': 'ignored',
      }),
    ).toEqual({
      body,
      key: Buffer.from('clé'),
      headers: { trace: 'abc', name: 'Zoë' },
      idempotencyKey: 'req-1',
    });
    expect(messageFromHeaders(body, { host: 'x' })).toEqual({ body });
    expect(messageFromHeaders(body, { 'q-key': 'order-1' })).toEqual({ body, key: 'order-1' });
  });

  it.each([
    [{ 'q-key': '' }, /^header q-key is empty/],
    [{ 'idempotency-key': 'x'.repeat(257) }, /idempotency-key header must be 1 to 256 visible ASCII/],
    [{ 'q-header-': 'v' }, /^header q-header-: the header name is empty$/],
    [{ 'q-header-q-outbox-id': 'o:9' }, /"q-outbox-id" is reserved/],
    [{ 'q-header-q-idempotency-key': 'k' }, /"q-idempotency-key" is reserved/],
    [{ 'q-header-x': '\xff\xfe' }, /^header q-header-x is not valid UTF-8$/],
  ])('refuses %o with 400 invalid_header', (headers, message) => {
    const error = refusal(() => messageFromHeaders(body, headers));
    expect(error).toMatchObject({ status: 400, code: 'invalid_header' });
    expect(error.message).toMatch(message);
  });
});

describe('parseSinkUrl', () => {
  it('reads redis and kafka URLs', () => {
    expect(parseSinkUrl('redis://127.0.0.1:6390/jobs')).toEqual({
      kind: 'redis',
      host: '127.0.0.1',
      port: 6390,
      db: 0,
      key: 'jobs',
      tls: false,
    });
    expect(parseSinkUrl('rediss://u:p%40ss@cache.local/3/%7Borders%7D%3Ain')).toEqual({
      kind: 'redis',
      host: 'cache.local',
      port: 6379,
      db: 3,
      key: '{orders}:in',
      tls: true,
      username: 'u',
      password: 'p@ss',
    });
    expect(parseSinkUrl('redis://[::1]:7000/5')).toMatchObject({ host: '::1', port: 7000, db: 0, key: '5' });
    expect(parseSinkUrl('kafka://b1:9092,10.0.0.2:9093/orders.v1')).toEqual({
      kind: 'kafka',
      brokers: ['b1:9092', '10.0.0.2:9093'],
      topic: 'orders.v1',
    });
  });

  it.each([
    'http://host:1/x',
    'redis://host:6379',
    'redis://host:6379/0/a/b',
    'redis://host:6379/list?x=1',
    'kafka://host/topic',
    'kafka://host:99999/topic',
    'kafka://host:9092',
    'kafka://host:9092/bad topic',
    'redis://host:6379/%E0%A4%A',
  ])('refuses %s with InvalidOptionError naming the sink option', (url) => {
    expect(() => parseSinkUrl(url)).toThrow(expect.objectContaining({ code: 'Q_INVALID_OPTION', option: 'sink' }));
  });
});
