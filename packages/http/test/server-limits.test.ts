// The server's limits and listeners: maxTopics (507 past it), the unix socket beside TCP (a stale
// socket file replaced), health while closing (503), a close that is idempotent, and topics
// reopened by a new server on the same directory with their delivery resumed.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { send, startServer } from './server-support/server.js';
import { startTarget, type Target } from './server-support/target.js';

const dirs: string[] = [];
const targets: Target[] = [];
afterAll(async () => {
  for (const t of targets) await t.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'q-http-limits-'));
  dirs.push(dir);
  return dir;
}

describe('server limits and listeners', () => {
  it('creates at most maxTopics topics: a push for one more gets 507, the existing ones still take pushes', async () => {
    const target = await startTarget();
    targets.push(target);
    const s = await startServer({ maxTopics: 1 });
    try {
      const url = `${target.origin}/t`;
      expect((await send(s.origin, 'POST', '/opq/push', { form: { topic: 'one', url } })).status).toBe(201);
      const refused = await send(s.origin, 'POST', '/opq/push', { form: { topic: 'two', url } });
      expect(refused.status).toBe(507);
      expect((refused.json as { error: { code: string } }).error.code).toBe('too_many_topics');
      expect((await send(s.origin, 'POST', '/v1/topics/one/messages', { json: { url } })).status).toBe(201);
    } finally {
      await s.close();
    }
  });

  it('listens on a unix socket too, replacing a socket file no process listens on', async () => {
    const socket = join(tempDir(), 'q-http.sock');
    // A socket file left behind by a process that was killed.
    const holder = spawn(
      process.execPath,
      ['-e', "require('node:net').createServer().listen(process.argv[1], () => console.log('up'))", socket],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve) => holder.stdout?.once('data', () => resolve()));
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
    expect(existsSync(socket)).toBe(true);
    const s = await startServer({ socket });
    const agent = new Agent({ connect: { socketPath: socket } });
    try {
      const res = await request('http://localhost/v1/health', { dispatcher: agent });
      expect(res.statusCode).toBe(200);
      expect(await res.body.json()).toMatchObject({ status: 'ok' });
    } finally {
      await agent.close();
      await s.close();
    }
  });

  it('reports 503 closing from health once close began; close twice is one close', async () => {
    const s = await startServer();
    const closing = s.server.close({ timeoutMs: 1000 });
    expect(s.server.health().status).toBe(503);
    expect(s.server.health().body.status).toBe('closing');
    expect(s.server.close()).toBe(closing);
    await closing;
    await s.close();
  });

  it('a new server on the same directory reopens every topic and delivers its backlog without a push', async () => {
    let up = false;
    const target = await startTarget(() => (up ? 200 : 503));
    targets.push(target);
    const dir = tempDir();
    // A long back-off: the first attempt fails, the next would come after the restart anyway.
    const first = await startServer({ delivery: { retry: { minDelayMs: 60_000 } } }, dir);
    for (const topic of ['a', 'b'])
      for (let i = 0; i < 3; i++)
        expect(
          (
            await send(first.origin, 'POST', `/v1/topics/${topic}/messages`, {
              json: { url: `${target.origin}/${topic}`, json: i },
            })
          ).status,
        ).toBe(201);
    await target.waitFor((rs) => rs.length >= 6);
    await first.close(true);
    up = true;
    const before = target.requests.length;
    const second = await startServer({}, dir);
    try {
      await target.waitFor(
        (rs) =>
          new Set(
            rs
              .slice(before)
              .filter((r) => r.headers['webhook-id'])
              .map((r) => r.headers['webhook-id']),
          ).size === 6,
      );
      const topics = (await send(second.origin, 'GET', '/v1/topics')).json as { topics: string[] };
      expect(topics.topics.sort()).toEqual(['a', 'b']);
    } finally {
      await second.close();
    }
  });
});
