// @q/core's Queue fed from a log cursor by logProducerFactory, and LogPusher as a pusher and as the
// queue's dead letter, all on real log directories.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, silentLogger } from '@q/core';
import { type LogMessage, LogPusher, logProducerFactory, openLog, type SegmentLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';

const dirs: string[] = [];
const logs: SegmentLog[] = [];
afterEach(async () => {
  for (const log of logs.splice(0)) await log.close().catch(() => undefined);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function freshLog(sync: 'always' | 'none' = 'none'): Promise<SegmentLog> {
  const dir = mkdtempSync(join(tmpdir(), 'q-log-queue-'));
  dirs.push(dir);
  const log = await openLog({ dir, sync, segmentBytes: 64 * 1024 });
  logs.push(log);
  return log;
}

const body = (seq: number): string => `record ${seq}`;

async function appendN(log: SegmentLog, from: number, n: number): Promise<void> {
  for (let i = 0; i < n; i += 500) {
    const count = Math.min(500, n - i);
    await log.appendBatch(Array.from({ length: count }, (_, k) => body(from + i + k)));
  }
}

/** Resolves once `check()` holds, polling every 5 ms for at most `ms`. */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('logProducerFactory', () => {
  it('a Queue consumes N appended records exactly once, in a body that matches, and commits the cursor to N', async () => {
    const log = await freshLog();
    const N = 3000;
    await appendN(log, 0, N);
    const seen = new Map<number, number>();
    let bad = 0;
    const queue = new Queue<LogMessage>(
      logProducerFactory({ log, cursor: 'c', batchSize: 100, commitIntervalMs: 10 }),
      () => ({
        consume: (m) => {
          seen.set(m.seq, (seen.get(m.seq) ?? 0) + 1);
          if (m.body.toString() !== body(m.seq)) bad++;
        },
      }),
      { producers: 2, consumers: 4 },
    );
    const running = queue.start();
    await until(() => seen.size === N, 20_000, `${N} records`);
    await queue.stop();
    await running;
    expect(bad).toBe(0);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect([...seen.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect((await log.cursor('c')).position).toBe(N);
  });

  it('stop and restart resume exactly at the watermark: every record consumed once across both runs', async () => {
    const log = await freshLog();
    const N = 2000;
    await appendN(log, 0, N);
    const counts = new Map<number, number>();
    const factory = logProducerFactory({ log, cursor: 'r', batchSize: 50 });
    const run = async (stopAfter: number): Promise<void> => {
      let consumed = 0;
      const queue = new Queue<LogMessage>(
        factory,
        () => ({
          consume: async (m) => {
            await new Promise((r) => setImmediate(r));
            counts.set(m.seq, (counts.get(m.seq) ?? 0) + 1);
            consumed++;
          },
        }),
        { producers: 1, consumers: 8, capacity: 64 },
      );
      const running = queue.start();
      await until(() => consumed >= stopAfter || counts.size === N, 20_000, `${stopAfter} consumed`);
      await queue.stop();
      await running;
    };
    await run(700);
    const position = (await log.cursor('r')).position;
    // A graceful stop drains what was produced, so the final commit is everything consumed so far.
    expect(position).toBe(counts.size);
    expect(position).toBeGreaterThanOrEqual(700);
    expect(position).toBeLessThan(N);
    await run(N);
    expect(counts.size).toBe(N);
    expect([...counts.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect((await log.cursor('r')).position).toBe(N);
  });

  it('a message nacked at the stop deadline is not committed past: the next start reads it again', async () => {
    const log = await freshLog();
    await appendN(log, 0, 50);
    const factory = logProducerFactory({ log, cursor: 'n', commitIntervalMs: 0 });
    const first: number[] = [];
    // Seq 20's handler outlives the stop deadline (it ignores its signal), so the queue nacks it.
    let release = (): void => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const queue = new Queue<LogMessage>(
      factory,
      () => ({
        consume: async (m) => {
          if (m.seq === 20) await held;
          else first.push(m.seq);
        },
      }),
      { producers: 1, consumers: 4 },
    );
    const running = queue.start();
    await until(() => first.length === 49, 10_000, '49 records');
    await queue.stop({ timeoutMs: 50 });
    await running;
    release();
    expect((await log.cursor('n')).position).toBe(20);
    const second: number[] = [];
    const again = new Queue<LogMessage>(factory, () => ({ consume: (m) => void second.push(m.seq) }), {
      producers: 1,
      consumers: 1,
    });
    const running2 = again.start();
    await until(() => second.length === 30, 10_000, 'the 30 from seq 20');
    await again.stop();
    await running2;
    expect(second).toEqual(Array.from({ length: 30 }, (_, i) => 20 + i));
    expect((await log.cursor('n')).position).toBe(50);
  });

  it('picks up records appended while the queue runs without a polling delay', async () => {
    const log = await freshLog();
    const handled = new Map<number, number>();
    const queue = new Queue<LogMessage>(
      logProducerFactory({ log, cursor: 'live' }),
      () => ({ consume: (m) => void handled.set(m.seq, performance.now()) }),
      { producers: 1, consumers: 1 },
    );
    const running = queue.start();
    const latencies: number[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const seq = await log.append(body(i));
        const appended = performance.now();
        await until(() => handled.has(seq), 5_000, `seq ${seq}`);
        latencies.push((handled.get(seq) as number) - appended);
        // Idle between appends, so each one finds the producer waiting.
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await queue.stop();
      await running;
    }
    latencies.sort((a, b) => a - b);
    // A poll of even 100 ms would put the median near 50 ms; a wake-up is well under 10 ms idle.
    expect(latencies[10]).toBeLessThan(25);
  });

  it('validates its options with InvalidOptionError naming the option', async () => {
    const log = await freshLog();
    expect(() => logProducerFactory({ log, cursor: '' })).toThrow(/cursor/);
    expect(() => logProducerFactory({ log, cursor: 'c', batchSize: 0 })).toThrow(/batchSize/);
    expect(() => logProducerFactory({ log, cursor: 'c', commitIntervalMs: -1 })).toThrow(/commitIntervalMs/);
    expect(() => logProducerFactory({ log: {} as SegmentLog, cursor: 'c' })).toThrow(
      expect.objectContaining({ code: 'Q_INVALID_OPTION', option: 'log' }),
    );
  });
});

describe('LogPusher', () => {
  it('pushAndConfirm resolves with the record durable and readable; push accepts every AppendInput', async () => {
    const log = await freshLog('always');
    const pusher = new LogPusher({ log });
    expect(pusher.name()).toBe(`log:${log.dir}`);
    await pusher.pushAndConfirm('text');
    await pusher.push(Buffer.from([0, 1, 2]));
    await pusher.push({ body: 'with headers', headers: { id: '7' } });
    expect(log.durableSeq).toBe(3);
    const records = await log.read(0);
    expect(records.map((r) => r.body.toString('hex'))).toEqual([
      Buffer.from('text').toString('hex'),
      '000102',
      Buffer.from('with headers').toString('hex'),
    ]);
    expect(records[2]?.headers).toEqual({ id: '7' });
    await pusher.close();
    await expect(pusher.push('after close')).rejects.toMatchObject({ code: 'Q_LOG_CLOSED' });
    // The log it was given stays open.
    expect(await log.append('still open')).toBe(3);
  });

  it('an aborted confirm rejects with ConfirmAbortedError; one aborted at the call appends nothing', async () => {
    const log = await freshLog('always');
    const pusher = new LogPusher({ log });
    await expect(pusher.pushAndConfirm('x', { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'Q_CONFIRM_ABORTED',
    });
    expect(log.nextSeq).toBe(0);
    await pusher.close();
  });

  it("is a queue's dead letter: failed records land in the other log with their headers, x-q-error and x-q-attempts, and the cursor passes them", async () => {
    const log = await freshLog();
    const dead = await freshLog('always');
    for (let i = 0; i < 30; i++) await log.append({ body: body(i), headers: { id: String(i) } });
    await using pusher = new LogPusher({ log: dead });
    const consumed: number[] = [];
    const queue = new Queue<LogMessage>(
      logProducerFactory({ log, cursor: 'dl', commitIntervalMs: 0 }),
      () => ({
        consume: (m) => {
          if (m.seq % 7 === 3) throw new Error(`no ${m.seq}`);
          consumed.push(m.seq);
        },
      }),
      {
        producers: 1,
        consumers: 2,
        deadLetter: pusher,
        retry: { attempts: 2, minDelayMs: 1, maxDelayMs: 1 },
        logger: silentLogger,
      },
    );
    const running = queue.start();
    await until(() => consumed.length === 26 && dead.nextSeq === 4, 10_000, 'all settled');
    await queue.stop();
    await running;
    const letters = await dead.read(0);
    expect(letters.map((r) => r.body.toString()).sort()).toEqual([3, 10, 17, 24].map(body).sort());
    for (const r of letters) {
      const seq = Number(r.body.toString().split(' ')[1]);
      expect(r.headers).toEqual({ id: String(seq), 'x-q-error': `no ${seq}`, 'x-q-attempts': '2' });
    }
    expect((await log.cursor('dl')).position).toBe(30);
  });
});
