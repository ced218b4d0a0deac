// `q-outbox serve` as a child process (through bin/q-outbox.js on the sources), in front of the
// run's redis-server: the command line, the first stdout line, TCP and unix-socket clients, an
// Idempotency-Key retried after SIGKILL and a restart on the same directory, and a SIGTERM that
// closes cleanly.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Client } from 'undici';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { client as redisClient, uniqueKey } from '../../redis/test/support/clients.js';
import { main } from '../src/cli/main.js';
import { json, waitFor } from './server-support/in-process.js';
import { type ProxyProcess, runCli, startProxyProcess } from './server-support/proxy-process.js';

const dirs: string[] = [];
const procs: ProxyProcess[] = [];
const clients: Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => undefined);
  for (const proc of procs.splice(0)) await proc.stop('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'q-outbox-cli-'));
  dirs.push(dir);
  return dir;
}

async function start(args: string[]): Promise<ProxyProcess> {
  const proc = await startProxyProcess(args);
  procs.push(proc);
  return proc;
}

function keepAlive(url: string, socketPath?: string): Client {
  const c = new Client(url, socketPath === undefined ? {} : { socketPath });
  clients.push(c);
  return c;
}

async function post(c: Client, path: string, body: string, headers: Record<string, string> = {}) {
  const res = await c.request({ path, method: 'POST', body, headers });
  return { status: res.statusCode, body: await json(res.body) };
}

describe('q-outbox command line', () => {
  it('--help exits 0 and a bad --sink exits 2, through the launcher', () => {
    const help = runCli(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: q-outbox serve --dir DIR --sink URL/);
    const bad = runCli(['serve', '--dir', '/tmp/x', '--sink', 'amqp://h/q']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^q-outbox: Invalid option "sink": got "amqp:\/\/h\/q", expected kafka:\/\//);
    expect(bad.stdout).toBe('');
  });

  it.each([
    [[], /^q-outbox: a command is needed\n\nUsage:/],
    [['start'], /^q-outbox: unknown command "start"\n/],
    [['serve', '--sink', 'redis://127.0.0.1:1/k'], /^q-outbox: --dir is required\n/],
    [['serve', '--dir', '/tmp/x'], /^q-outbox: --sink is required\n/],
    [
      ['serve', '--dir', '/tmp/x', '--sink', 'redis://h:1/k', '--mode', 'fast'],
      /^q-outbox: --mode takes write-ahead or direct-first, got "fast"\n/,
    ],
    [
      ['serve', '--dir', '/tmp/x', '--sink', 'redis://h:1/k', '--port', 'abc'],
      /^q-outbox: --port takes an integer >= 0, got "abc"\n/,
    ],
    [
      ['serve', '--dir', '/tmp/x', '--sink', 'redis://h:1/k', '--port', '65536'],
      /^q-outbox: --port takes 0 to 65535, got 65536\n/,
    ],
    [
      ['serve', '--dir', '/tmp/x', '--sink', 'redis://h:1/k', '--max-body-bytes', '0'],
      /^q-outbox: --max-body-bytes takes an integer >= 1, got "0"\n/,
    ],
    [
      ['serve', '--dir', '/tmp/x', '--sink', 'redis://h:1/k', '--when-full', 'drop'],
      /^q-outbox: --when-full takes block or reject, got "drop"\n/,
    ],
    [
      ['serve', '--dir', '/tmp/x', '--sink', 'redis://h:1/k', '--log-level', 'loud'],
      /^q-outbox: --log-level takes error, warn, info, debug, got "loud"\n/,
    ],
    [['serve', '--bogus'], /^q-outbox: Unknown option '--bogus'/],
    // Refused by the Outbox itself (after the sink was made, which is then closed).
    [
      ['serve', '--dir', '/tmp/x', '--sink', 'redis://127.0.0.1:1/k', '--max-bytes', '100'],
      /^q-outbox: Invalid option "maxBytes"/,
    ],
  ])('%j exits 2 naming the problem, then the usage', async (args, message) => {
    let out = '';
    let err = '';
    const io = {
      out: new Writable({
        write(chunk, _encoding, done) {
          out += chunk;
          done();
        },
      }),
      err: new Writable({
        write(chunk, _encoding, done) {
          err += chunk;
          done();
        },
      }),
    };
    expect(await main(args, io)).toBe(2);
    expect(err).toMatch(message);
    expect(err).toMatch(/\nUsage: q-outbox serve/);
    expect(out).toBe('');
  });

  it('serves TCP and a unix socket into Redis; an Idempotency-Key survives SIGKILL + restart; SIGTERM exits 0', async () => {
    const dir = tempDir();
    const socket = join(dir, 'proxy.sock');
    const key = uniqueKey('outbox-cli');
    const redis = redisClient();
    const args = [
      '--dir',
      join(dir, 'outbox'),
      '--sink',
      `${inject('redisUrl')}/${key}`,
      '--port',
      '0',
      '--socket',
      socket,
    ];

    const first = await start(args);
    expect(first.http).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(first.socket).toBe(socket);
    const tcp = keepAlive(first.http);
    const unix = keepAlive('http://localhost', socket);

    const a = await post(tcp, '/v1/messages', 'a', { 'idempotency-key': 'K1' });
    expect(a).toMatchObject({ status: 200, body: { duplicate: false } });
    const outboxId = (a.body.id as string).slice(0, (a.body.id as string).lastIndexOf(':'));
    const batch = await post(
      tcp,
      '/v1/messages/batch',
      ['n1', 'n2', 'n3'].map((body) => JSON.stringify({ body })).join('\n'),
      {
        'content-type': 'application/x-ndjson',
      },
    );
    expect(batch.status).toBe(200);
    expect((await post(unix, '/v1/messages', 'b')).status).toBe(200);
    expect(await post(tcp, '/v1/messages', 'a', { 'idempotency-key': 'K1' })).toEqual({
      status: 200,
      body: { id: a.body.id, duplicate: true },
    });
    // Acknowledged, then killed at once: it may or may not have reached Redis yet.
    const c = await post(unix, '/v1/messages', 'c', { 'idempotency-key': 'K2' });
    expect(c.status).toBe(200);
    expect(await first.stop('SIGKILL')).toBe(null);
    expect(existsSync(socket)).toBe(true); // left behind by the killed process

    const second = await start(args);
    // One process per directory: a second proxy on it exits 1 naming the lock.
    const locked = runCli(['serve', ...args.slice(0, 4), '--port', '0']);
    expect(locked.status).toBe(1);
    expect(locked.stderr).toMatch(/^q-outbox: .*lock/im);
    expect(locked.stdout).toBe('');
    const tcp2 = keepAlive(second.http);
    const unix2 = keepAlive('http://localhost', socket);
    expect(await post(tcp2, '/v1/messages', 'a', { 'idempotency-key': 'K1' })).toEqual({
      status: 200,
      body: { id: a.body.id, duplicate: true },
    });
    expect(await post(unix2, '/v1/messages', 'c', { 'idempotency-key': 'K2' })).toEqual({
      status: 200,
      body: { id: c.body.id, duplicate: true },
    });
    const expected = ['a', 'n1', 'n2', 'n3', 'b', 'c'];
    await waitFor('every message in Redis', async () => (await redis.llen(key)) >= expected.length);
    await waitFor('an empty backlog', async () => {
      const res = await tcp2.request({ path: '/v1/health', method: 'GET' });
      const health = await json(res.body);
      return health.backlogMessages === 0;
    });
    expect(await redis.lrange(key, 0, -1)).toEqual(expected);
    const health = await tcp2.request({ path: '/v1/health', method: 'GET' });
    expect(await json(health.body)).toMatchObject({ status: 'ok', outbox: outboxId, sink: 'up' });

    await tcp2.close();
    await unix2.close();
    expect(await second.stop('SIGTERM')).toBe(0);
    expect(existsSync(socket)).toBe(false);
    const logs = second
      .stderr()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { level: string; msg: string });
    expect(logs.map((l) => l.msg)).toEqual(
      expect.arrayContaining([`q-outbox ${outboxId} serving on ${second.http}`, 'closed']),
    );
    expect(logs.filter((l) => l.level === 'error')).toEqual([]);
  });
});
