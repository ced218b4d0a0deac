// Review B, error shape: every 4xx is `{ error: { code, message } }`.
// - defect: requests Node's HTTP parser refuses (headers over 16 KiB, a malformed request line) got
//   Fastify's default `{ error, message, statusCode }`, on the TCP listener, and Node's bare answer
//   on the unix socket;
// - defect: a JSON message whose `body`, `key` or header value holds a lone surrogate ("\ud800",
//   which UTF-8 cannot hold) was answered 201 and stored with U+FFFD in its place.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, startServer, type TestServer } from './server-support/server.js';

const socketDir = mkdtempSync(join(tmpdir(), 'q-http-errors-'));
let server: TestServer;
beforeAll(async () => {
  server = await startServer({ socket: join(socketDir, 's.sock') });
});
afterAll(async () => {
  await server?.close();
  rmSync(socketDir, { recursive: true, force: true });
});

/** Writes `text` on a new connection and reads until the server closes it (bounded to 5 s). */
function exchange(to: { port: number } | { path: string }, text: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = 'path' in to ? connect(to.path) : connect(to.port, '127.0.0.1');
    socket.once('connect', () => socket.write(text));
    let out = '';
    const timer = setTimeout(() => socket.destroy(), 5000);
    socket.setEncoding('latin1').on('data', (d: string) => {
      out += d;
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    socket.once('error', () => undefined);
  });
}

function parse(answer: string): { status: number; body: unknown } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
  const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
  return { status, body: JSON.parse(body) };
}

describe('review B: the JSON error shape for what the HTTP parser refuses', () => {
  const bigHeader = `GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`;
  it('headers over the limit: 431 { error: { code: headers_too_large } } on TCP and on the unix socket', async () => {
    const port = Number(new URL(server.origin).port);
    for (const to of [{ port }, { path: join(socketDir, 's.sock') }]) {
      const { status, body } = parse(await exchange(to, bigHeader));
      expect(status).toBe(431);
      expect(body).toMatchObject({ error: { code: 'headers_too_large' } });
    }
  });

  it('a malformed request: 400 { error: { code: bad_request } }', async () => {
    const port = Number(new URL(server.origin).port);
    for (const to of [{ port }, { path: join(socketDir, 's.sock') }]) {
      const { status, body } = parse(await exchange(to, 'GARBAGE\r\n\r\n'));
      expect(status).toBe(400);
      expect(body).toMatchObject({ error: { code: 'bad_request' } });
      expect(typeof (body as { error: { message: unknown } }).error.message).toBe('string');
    }
  });
});

describe('review B: text UTF-8 cannot hold is refused, not replaced', () => {
  const url = 'http://127.0.0.1:9/';
  for (const [field, json] of [
    ['body', `{"url":"${url}","body":"a\\ud800b"}`],
    ['key', `{"url":"${url}","key":"\\udc00"}`],
    ['headers.x-a', `{"url":"${url}","headers":{"x-a":"\\ud800"}}`],
  ] as const)
    it(`a lone surrogate in ${field}: 400 naming it, nothing stored`, async () => {
      const answer = await send(server.origin, 'POST', '/v1/topics/surrogate/messages', {
        raw: json,
        type: 'application/json',
      });
      expect(answer.status, answer.text).toBe(400);
      expect((answer.json as { error: { field: string } }).error.field).toBe(field);
      expect(server.server.topics.get('surrogate')).toBeUndefined();
    });

  it('a well-formed pair (an emoji) is stored as it is', async () => {
    const answer = await send(server.origin, 'POST', '/v1/topics/surrogate/messages', {
      json: { url, body: 'a\u{1F600}b', key: '\u{1F600}' },
    });
    expect(answer.status, answer.text).toBe(201);
    const [record] = (await server.server.topics.get('surrogate')?.log.read(0, { max: 1 })) ?? [];
    expect(record?.body.toString('utf8')).toBe('a\u{1F600}b');
  });
});
