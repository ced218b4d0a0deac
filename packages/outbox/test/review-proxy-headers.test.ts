// Review of issue 15's proxy: request headers Node's HTTP server drops without a word. Node keeps
// only the first `maxHeadersCount` (2000) headers of a request; the rest never reach Fastify, so an
// Idempotency-Key (or q-key, q-header-*) after them is ignored and the request still gets a 200.
// A client's retry with that key then stores the message a second time.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessProxy, startInProcessProxy, waitFor } from './server-support/in-process.js';

let p: InProcessProxy;
beforeAll(async () => {
  p = await startInProcessProxy();
});
afterAll(() => p?.dispose());

/** One raw HTTP/1.1 request with `filler` headers before the ones that matter; the parsed answer. */
function rawPost(filler: number, headers: string[], body: string): Promise<{ status: number; body: unknown }> {
  const { hostname, port } = new URL(p.url);
  const lines = ['POST /v1/messages HTTP/1.1', `Host: ${hostname}`, `Content-Length: ${Buffer.byteLength(body)}`];
  for (let i = 0; i < filler; i++) lines.push(`x${i}: 1`);
  lines.push(...headers, 'Connection: close');
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      answer += d;
    });
    socket.once('error', reject);
    socket.once('close', () => {
      const [head = '', rest = ''] = answer.split('\r\n\r\n');
      resolve({ status: Number(head.split(' ')[1]), body: rest === '' ? undefined : JSON.parse(rest) });
    });
    socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
  });
}

describe('review: a request with more headers than Node keeps', () => {
  it('its Idempotency-Key still makes a retry a duplicate (or the request is refused, nothing stored)', async () => {
    const key = `review-many-headers-${Date.now()}`;
    const first = await rawPost(2000, [`Idempotency-Key: ${key}`], 'order 1');
    const retry = await rawPost(2000, [`Idempotency-Key: ${key}`], 'order 1');
    if (first.status === 200) {
      // Accepted: then the key must have been honoured, as for any other request.
      expect(retry.status).toBe(200);
      expect(retry.body).toMatchObject({ duplicate: true, id: (first.body as { id: string }).id });
      await waitFor('the backlog forwarded', () => p.outbox.stats().backlogMessages === 0);
      expect(await p.redis.lrange(p.key, 0, -1)).toEqual(['order 1']);
    } else {
      // Refused: a 4xx, and nothing stored.
      expect(first.status).toBeGreaterThanOrEqual(400);
      expect(first.status).toBeLessThan(500);
      expect(p.outbox.stats().accepted).toBe(0);
    }
  }, 30_000);
});
