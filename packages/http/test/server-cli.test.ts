// `q-http serve` as a child process (bin/q-http.js on the sources): its command line, a 201 that
// survives a SIGKILL straight after it (the record is in the reopened log), delivery resumed by
// itself after a restart, and a SIGTERM that closes within its deadline.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLog } from '@q/log';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, type ServeProcess, startServe } from './server-support/process.js';
import { send } from './server-support/server.js';
import { startTarget, type Target } from './server-support/target.js';

const dirs: string[] = [];
const processes: ServeProcess[] = [];
const targets: Target[] = [];
afterAll(async () => {
  for (const p of processes) await p.stop('SIGKILL');
  for (const t of targets) await t.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'q-http-cli-'));
  dirs.push(dir);
  return dir;
}

async function serve(args: string[]): Promise<ServeProcess> {
  const p = await startServe(['--port', '0', '--log-level', 'info', ...args]);
  processes.push(p);
  return p;
}

describe('q-http command line', () => {
  it('prints its usage with --help and exits 2 for a bad command line', () => {
    const help = runCli(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: q-http serve --dir DIR/);
    for (const args of [
      [],
      ['run'],
      ['serve'],
      ['serve', '--dir', tempDir(), '--port', 'x'],
      ['serve', '--dir', tempDir(), '--port', '70000'],
      ['serve', '--dir', tempDir(), '--concurrency', '0'],
      ['serve', '--dir', tempDir(), '--secret', 'not base64!'],
      ['serve', '--dir', tempDir(), '--nope'],
    ]) {
      const r = runCli(args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/^q-http: /);
    }
  }, 60_000);
});

describe('q-http serve', () => {
  it('answers 201 only once a push is durable: SIGKILLed straight after, the reopened log has every record', async () => {
    const dir = tempDir();
    // Nothing listens there: the records stay unfinished, so only the log can hold them.
    const p = await serve(['--dir', dir, '--min-delay-ms', '60000']);
    const url = 'http://127.0.0.1:9/nowhere';
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        send(p.http, 'POST', '/opq/push', { form: { topic: 'durable', url, message: `m${i}` } }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(201));
    expect(await p.stop('SIGKILL')).toBeNull();
    const log = await openLog({ dir: join(dir, 'topics', 'durable', 'log') });
    try {
      const records = await log.read(0, { max: 100 });
      const messages = records.map((r) => new URLSearchParams(r.body.toString()).get('message')).sort();
      expect(messages).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`).sort());
      expect(records.every((r) => r.headers['q-url'] === url)).toBe(true);
    } finally {
      await log.close();
    }
  }, 60_000);

  it('resumes delivery after a restart without a new push, and closes on SIGTERM with exit 0', async () => {
    const dir = tempDir();
    let up = false;
    const target = await startTarget(() => (up ? 200 : 503));
    targets.push(target);
    const first = await serve(['--dir', dir, '--min-delay-ms', '5000', '--close-timeout-ms', '1000']);
    for (let i = 0; i < 5; i++) {
      const answer = await send(first.http, 'POST', '/v1/topics/resume/messages', {
        json: { url: `${target.origin}/r`, json: { i } },
      });
      expect(answer.status).toBe(201);
    }
    await target.waitFor((rs) => rs.length >= 5);
    expect(await first.stop('SIGTERM', 20_000)).toBe(0);
    // The log lines are JSON.
    const lines = first.stderr().trim().split('\n');
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(lines.some((l) => (JSON.parse(l) as { msg: string }).msg === 'closed')).toBe(true);

    up = true;
    const before = target.requests.length;
    const second = await serve(['--dir', dir, '--min-delay-ms', '50', '--max-delay-ms', '200']);
    await target.waitFor(
      (rs) =>
        new Set(
          rs
            .slice(before)
            .filter((r) => r.headers['webhook-id'] !== undefined)
            .map((r) => r.headers['webhook-id']),
        ).size === 5,
    );
    const ids = new Set(target.requests.slice(before).map((r) => r.headers['webhook-id']));
    expect([...ids].sort()).toEqual(['resume_0', 'resume_1', 'resume_2', 'resume_3', 'resume_4']);
    expect(await second.stop('SIGTERM', 20_000)).toBe(0);
  }, 60_000);

  it('SIGTERM while a target hangs: exits 0 once the close deadline passed', async () => {
    const dir = tempDir();
    const hanging = await import('node:http').then(({ createServer }) => createServer(() => undefined));
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const port = (hanging.address() as { port: number }).port;
    try {
      const p = await serve(['--dir', dir, '--close-timeout-ms', '500', '--timeout-ms', '60000']);
      const answer = await send(p.http, 'POST', '/opq/push', {
        form: { topic: 'hang', url: `http://127.0.0.1:${port}/h`, message: 'x' },
      });
      expect(answer.status).toBe(201);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await p.stop('SIGTERM', 20_000)).toBe(0);
    } finally {
      hanging.closeAllConnections();
      await new Promise<void>((resolve) => hanging.close(() => resolve()));
    }
  }, 60_000);
});
