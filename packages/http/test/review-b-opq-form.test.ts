// Review B, OPQ compatibility of a pushed url-encoded form:
// - defect "bytes that are not UTF-8 were replaced": `message=%E9t%E9` (a Latin-1 client) reached the
//   target as `message=%EF%BF%BDt%EF%BF%BD` after a 201; OPQ (Go's url.Values) keeps the bytes;
// - OPQ sends `url.Values.Encode()`: fields sorted by name, escaped as Go's QueryEscape (`~` kept,
//   `*` escaped), where we sent them in the order given with WHATWG escaping;
// - OPQ reads `r.Form`, the body's fields then the query string's: a push with its fields in the
//   query string (`POST /opq/push?topic=..&url=..`, with or without a body) was refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, startServer, type TestServer } from './server-support/server.js';
import { startTarget, type Target } from './server-support/target.js';

let target: Target;
let server: TestServer;
beforeAll(async () => {
  target = await startTarget();
  server = await startServer({});
});
afterAll(async () => {
  await server?.close();
  await target?.close();
});

async function delivered(path: string): Promise<string> {
  await target.waitFor((rs) => rs.some((r) => r.path === path));
  const found = target.requests.find((r) => r.path === path);
  return found === undefined ? '' : found.body.toString('latin1');
}

describe('review B: /opq/push stores the form as OPQ sends it', () => {
  it('keeps bytes that are not UTF-8, sorts the fields by name and escapes them as Go does', async () => {
    const url = `${target.origin}/bytes`;
    const answer = await send(server.origin, 'POST', '/opq/push', {
      raw: `url=${encodeURIComponent(url)}&topic=bytes&message=%E9t%E9&z=*~ +&a=%C3%A9`,
      type: 'application/x-www-form-urlencoded',
    });
    expect(answer.status, answer.text).toBe(201);
    const body = await delivered('/bytes');
    const goEscaped = url.replace(/[^A-Za-z0-9._~-]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    expect(body).toBe(`a=%C3%A9&message=%E9t%E9&topic=bytes&url=${goEscaped}&z=%2A~++`);
  });

  it('raw bytes over 0x7f in the body (not percent-encoded) are kept too', async () => {
    const url = `${target.origin}/raw`;
    const raw = Buffer.concat([
      Buffer.from(`topic=bytes&url=${encodeURIComponent(url)}&m=`),
      Buffer.from([0xe9, 0xff]),
    ]);
    const answer = await send(server.origin, 'POST', '/opq/push', { raw, type: 'application/x-www-form-urlencoded' });
    expect(answer.status, answer.text).toBe(201);
    expect(await delivered('/raw')).toMatch(/^m=%E9%FF&topic=bytes&url=/);
  });

  it('takes fields from the query string, after the body ones, with or without a body', async () => {
    const url = `${target.origin}/query`;
    const q = `topic=query&url=${encodeURIComponent(url)}`;
    const withBody = await send(server.origin, 'POST', `/opq/push?${q}&extra=q`, {
      raw: 'message=from-body',
      type: 'application/x-www-form-urlencoded',
    });
    expect(withBody.status, withBody.text).toBe(201);
    expect(await delivered('/query')).toMatch(/^extra=q&message=from-body&topic=query&url=/);
    const url2 = `${target.origin}/query-only`;
    const noBody = await send(server.origin, 'POST', `/opq/push?topic=query&url=${encodeURIComponent(url2)}&message=m`);
    expect(noBody.status, noBody.text).toBe(201);
    expect(await delivered('/query-only')).toMatch(/^message=m&topic=query&url=/);
    const replay = await send(server.origin, 'POST', '/opq/replay?topic=query&cmd=0');
    expect(replay.status, replay.text).toBe(201);
    // A field both in the body and the query string is given twice (OPQ stores neither copy).
    const twice = await send(server.origin, 'POST', `/opq/push?${q}&message=b`, {
      raw: 'message=a',
      type: 'application/x-www-form-urlencoded',
    });
    expect(twice.status).toBe(201);
    await target.waitFor((rs) => rs.filter((r) => r.path === '/query').length >= 3);
    const last = target.requests.filter((r) => r.path === '/query').map((r) => r.body.toString());
    expect(last.some((b) => b.startsWith('topic=query&url='))).toBe(true);
  });
});
