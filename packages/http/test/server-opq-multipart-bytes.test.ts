// OPQ (Go) keeps a form value's bytes as they were sent, whatever the form's encoding; a multipart
// field used to be decoded as UTF-8, so bytes that are not UTF-8 became U+FFFD and the target got
// other bytes than the pusher sent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, startServer, type TestServer } from './server-support/server.js';
import { startTarget, type Target } from './server-support/target.js';

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

/** A multipart body by hand: each field's bytes exactly, with an optional part content-type. */
function multipart(fields: [string, Buffer, string?][]): Buffer {
  const parts = fields.map(([name, value, type]) =>
    Buffer.concat([
      Buffer.from(
        `--b0undary\r\ncontent-disposition: form-data; name="${name}"\r\n${type ? `content-type: ${type}\r\n` : ''}\r\n`,
        'latin1',
      ),
      value,
      Buffer.from('\r\n', 'latin1'),
    ]),
  );
  return Buffer.concat([...parts, Buffer.from('--b0undary--\r\n', 'latin1')]);
}

describe('POST /opq/push, multipart: a field is its bytes', () => {
  it('delivers bytes that are not UTF-8 as they were sent, and UTF-8 text as it was', async () => {
    const url = `${target.origin}/hook/bytes`;
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x41, 0xc3]);
    const text = Buffer.from('ünïcødé ✓', 'utf8');
    const answer = await send(server.origin, 'POST', '/opq/push', {
      raw: multipart([
        ['topic', Buffer.from('bytes')],
        ['url', Buffer.from(url)],
        ['message', binary],
        ['note', text],
        ['declared', text, 'text/plain; charset=utf-8'],
      ]),
      type: 'multipart/form-data; boundary=b0undary',
    });
    expect(answer.status, answer.text).toBe(201);
    await target.waitFor((rs) => rs.some((r) => r.path === '/hook/bytes'));
    const got = target.requests.find((r) => r.path === '/hook/bytes');
    if (got === undefined) throw new Error('the target got nothing');
    const body = (got.body as Buffer).toString('latin1');
    const values = new Map(
      body.split('&').map((pair) => {
        const [name, value] = pair.split('=') as [string, string];
        return [name, Buffer.from(unescape(value.replaceAll('+', ' ')), 'latin1')];
      }),
    );
    expect(values.get('message')).toEqual(binary);
    expect(values.get('note')).toEqual(text);
    expect(values.get('declared')).toEqual(text);
  });
});
