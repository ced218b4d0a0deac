// Review B, defect "a topic created by a request that then fails": a message the log refuses
// (record headers over @q/log's 64 KiB) used to be answered 400 only after its topic had been
// created: the topic stayed, with its directories, in GET /v1/topics and against maxTopics.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, startServer, type TestServer } from './server-support/server.js';
import { startTarget, type Target } from './server-support/target.js';

let target: Target;
let server: TestServer;
beforeAll(async () => {
  target = await startTarget();
  server = await startServer({ maxTopics: 2 });
});
afterAll(async () => {
  await server?.close();
  await target?.close();
});

/** 20 headers of 4,000 characters: within the 1 MiB body limit, over the log's 64 KiB of headers. */
function bigHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; i < 20; i++) headers[`x-h${i}`] = 'v'.repeat(4000);
  return headers;
}

describe('review B: a refused message leaves no topic behind', () => {
  it('headers over the log limit: 413 before the topic is created (no directory, not listed, no slot taken)', async () => {
    const answer = await send(server.origin, 'POST', '/v1/topics/leftover/messages', {
      json: { url: `${target.origin}/a`, headers: bigHeaders() },
    });
    expect(answer.status, answer.text).toBe(413);
    expect((answer.json as { error: { code: string; field?: string } }).error).toMatchObject({
      code: 'message_too_large',
      field: 'headers',
    });
    expect(server.server.topics.get('leftover')).toBeUndefined();
    expect(existsSync(join(server.dir, 'topics', 'leftover'))).toBe(false);
    const list = await send(server.origin, 'GET', '/v1/topics');
    expect((list.json as { topics: string[] }).topics).not.toContain('leftover');
    // Both topic slots are still free.
    for (const topic of ['t1', 't2'])
      expect(
        (await send(server.origin, 'POST', `/v1/topics/${topic}/messages`, { json: { url: target.origin } })).status,
      ).toBe(201);
  });

  it('an existing topic refuses the same message without a record', async () => {
    const before = server.server.topics.get('t1')?.log.nextSeq;
    const answer = await send(server.origin, 'POST', '/v1/topics/t1/messages', {
      json: { url: `${target.origin}/a`, headers: bigHeaders() },
    });
    expect(answer.status).toBe(413);
    expect(server.server.topics.get('t1')?.log.nextSeq).toBe(before);
  });
});
