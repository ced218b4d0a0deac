// Review B, defect "a second server on the same directory shares it": each topic log is locked on
// its own, so a second server on a directory whose topics did not exist yet started, and both took
// pushes (each creating topics the other did not know; a push to a topic the other held got a 500).
// Now the directory itself is locked: the second start fails, in this process or another one.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HttpQueueServer } from '../src/server/http-queue-server.js';
import { runCli } from './server-support/process.js';
import { send, startServer } from './server-support/server.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('review B: one server per directory', () => {
  it('a second server on the same (empty) directory fails to start; after the first closed, one starts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'q-http-lock-'));
    dirs.push(dir);
    const first = await startServer({}, dir);
    const second = new HttpQueueServer({ dir, port: 0 });
    try {
      await expect(second.start()).rejects.toMatchObject({ code: 'Q_HTTP_DIR_LOCKED' });
      // The first one still serves its directory.
      expect(
        (await send(first.origin, 'POST', '/v1/topics/a/messages', { json: { url: 'http://127.0.0.1:9/' } })).status,
      ).toBe(201);
    } finally {
      await second.close({ timeoutMs: 0 });
      await first.close(true);
    }
    const third = await startServer({}, dir);
    expect(third.server.topics.get('a')).toBeDefined();
    await third.close(true);
  });

  it('q-http serve on a directory a live server holds exits 1 naming the directory and the holder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'q-http-lock-'));
    dirs.push(dir);
    const first = await startServer({}, dir);
    try {
      const r = runCli(['serve', '--dir', dir, '--port', '0']);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toContain(dir);
      expect(r.stderr).toContain(`process ${process.pid}`);
    } finally {
      await first.close(true);
    }
  }, 60_000);
});
