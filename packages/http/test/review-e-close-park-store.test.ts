// Review E: close() now races the run's drain with engine.idle(). A park round withdraws records from the
// engine (so idle() no longer sees them) and appends them to the park log: close() commits the live cursor
// while that append is under way, below records whose park copy is then stored. A clean close should leave
// each record in one place; here the whole batch is in both logs and is delivered twice after the restart.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { silentLogger } from '@q/core';
import { openLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { HttpDeliverer } from '../src/deliverer/http-deliverer.js';
import { tempDir } from './deliverer-target.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function flakyTarget() {
  const state = { up: false, ok: new Map<string, number>() };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['webhook-id']);
      if (!state.up) return void res.writeHead(503).end('down');
      state.ok.set(id, (state.ok.get(id) ?? 0) + 1);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    state,
    url: `http://127.0.0.1:${port}/hook`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('review E: close while a park round is being stored', () => {
  it('defect "close commits before the park store": after a clean close and restart every record is delivered once', async () => {
    const tmp = await tempDir('q-http-review-e-park-');
    cleanups.push(() => tmp.remove());
    const target = await flakyTarget();
    cleanups.push(() => target.close());
    const log = await openLog({ dir: join(tmp.dir, 'log') });
    cleanups.push(() => log.close());
    const window = 64;
    // Three quarters of a window: the reader never starts a round, the poll does. One attempt at a time and
    // a circuit that opens at the first failure: record 0 fails, every other one waits behind the open
    // circuit, so the first round parks exactly the 32 lowest records with nothing unfinished below them (a
    // close after that round commits past them: no duplicate).
    const total = (window * 3) / 4;
    const body = Buffer.alloc(512 * 1024, 'y');
    await log.appendBatch(Array.from({ length: total }, () => ({ body })));
    const options = {
      log,
      url: target.url,
      maxUnfinished: window,
      deadLetterDir: join(tmp.dir, 'dead-letter'),
      parkDir: join(tmp.dir, 'parked'),
      logger: silentLogger,
      engine: {
        retry: { maxAttempts: 100, minDelayMs: 3_000, maxDelayMs: 3_000 },
        concurrency: 1,
        circuit: { failureThreshold: 1, openMs: 3_000 },
      },
    };
    const first = new HttpDeliverer(options);
    await first.start();
    // A park round is storing: records handed out by the live run that the engine no longer holds.
    const storing = () => {
      const e = first.engine.stats();
      return first.stats().unfinished > e.waiting + e.inFlight;
    };
    for (let i = 0; i < 200_000 && !storing(); i++) await new Promise((r) => setImmediate(r));
    expect(storing(), 'a park round under way').toBe(true);
    const parkedBefore = first.stats().parked;
    await first.close({ timeoutMs: 5_000 });
    const cursor = (await log.cursor('http')).position;

    target.state.up = true;
    const second = new HttpDeliverer(options);
    cleanups.push(() => second.close({ timeoutMs: 1_000 }));
    await second.start();
    await until(
      () => target.state.ok.size === total && second.stats().backlog === 0 && second.stats().parkedBacklog === 0,
      20_000,
      'every record delivered after the restart',
    );
    const twice = [...target.state.ok.values()].filter((n) => n > 1).length;
    expect(
      { deliveredTwice: twice },
      `parked before close: ${parkedBefore}, live cursor after close: ${cursor}`,
    ).toEqual({
      deliveredTwice: 0,
    });
  }, 30_000);
});
