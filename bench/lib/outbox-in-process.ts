/**
 * `pnpm bench outbox`'s in-process cases: an `Outbox` (write-ahead, sync 'always') in front of a
 * `RedisListPusher` with `dedupe: 'outbox-id'`, 256 concurrent senders each awaiting its `send`:
 *
 * - sink up: the send rate while the forwarder pushes to Redis at the same time;
 * - sink down (redis-server stopped with SIGSTOP, so the batch in flight just waits): the spill rate;
 * - then the backlog topped up to a fixed size and redis-server continued (SIGCONT): the drain rate,
 *   messages forwarded per second until the backlog is empty.
 *
 * Every case ends with the list holding exactly the messages accepted (exactly once), or it throws.
 */
import { rmSync } from 'node:fs';
import { silentLogger } from '@q/core';
import { Outbox } from '@q/outbox';
import { RedisListPusher } from '@q/redis';
import { Redis } from 'ioredis';
import { ownCpuSeconds, redisCpuSeconds } from './cpu.js';
import { bodyOf } from './synced-write.js';

/** Concurrent senders, each awaiting its send before the next. */
export const SENDERS = 256;

/** Where a case runs: the redis-server, fresh names, and how long a measured phase lasts. */
export interface InProcessContext {
  /** `redis://127.0.0.1:<port>` of the bench's own redis-server. */
  readonly redisUrl: string;
  /** Its process id, for SIGSTOP/SIGCONT. */
  readonly redisPid: number;
  /** A fresh directory (not created) under the suite's temp dir. */
  readonly freshDir: () => string;
  /** A fresh list key. */
  readonly freshKey: () => string;
  /** Seconds a measured send phase runs. */
  readonly seconds: number;
}

/** What a phase cost in CPU: this process (senders, outbox, forwarder) and, when it runs, redis-server. */
export interface CpuCost {
  /** CPU microseconds of this process per message. */
  readonly usPerMessage: number;
  /** Cores this process used during the phase (one main thread: about 1 when it is CPU-bound). */
  readonly cores: number;
  /** redis-server's CPU microseconds per message (not measured while it is stopped). */
  readonly redisUsPerMessage?: number;
}

/** What one in-process case measured. */
export interface InProcessResult {
  /** Sends resolved per second while the phase ran. */
  readonly sendsPerSecond: number;
  /** The CPU the send phase took. */
  readonly sendCpu: CpuCost;
  /** Messages the forwarder pushed per second during that phase (0 with the sink down). */
  readonly forwardedPerSecond: number;
  /** Backlog at the start of the drain, and the drain rate (sink-down case only). */
  readonly drain?: {
    readonly messages: number;
    readonly perSecond: number;
    readonly firstForwardMs: number;
    readonly cpu: CpuCost;
  };
}

/** Starts measuring a phase's CPU; `end(messages)` tells its cost (redis-server's when `redis` is given). */
async function cpuMeter(redis?: Redis): Promise<{ end(messages: number): Promise<CpuCost> }> {
  const t0 = performance.now();
  const own0 = ownCpuSeconds();
  const redis0 = redis === undefined ? 0 : await redisCpuSeconds(redis);
  return {
    async end(messages) {
      const own = ownCpuSeconds() - own0;
      const seconds = (performance.now() - t0) / 1000;
      const redisUsed = redis === undefined ? undefined : (await redisCpuSeconds(redis)) - redis0;
      return {
        usPerMessage: (own / messages) * 1e6,
        cores: own / seconds,
        redisUsPerMessage: redisUsed === undefined ? undefined : (redisUsed / messages) * 1e6,
      };
    },
  };
}

/** The longest a backlog may take to reach Redis after a case before the bench gives up. */
const SETTLE_MS = 120_000;

/**
 * Runs `concurrency` loops of `op` until `seconds` pass or `limit` operations started; returns the
 * operations per second and how many completed.
 */
async function boundedLoops(
  seconds: number,
  concurrency: number,
  limit: number,
  op: (i: number) => Promise<unknown>,
): Promise<{ rate: number; done: number }> {
  let stop = false;
  const timer = setTimeout(() => {
    stop = true;
  }, seconds * 1000);
  let started = 0;
  let done = 0;
  const t0 = performance.now();
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (!stop && started < limit) {
          await op(started++);
          done++;
        }
      }),
    );
  } finally {
    clearTimeout(timer);
  }
  return { rate: (done / (performance.now() - t0)) * 1000, done };
}

/** Waits (polling every 2 ms) until `check` holds; throws after `ms`. */
async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** One outbox over one fresh list, and the way to dispose of both. */
async function openCase(ctx: InProcessContext) {
  const dir = ctx.freshDir();
  const key = ctx.freshKey();
  const redis = new Redis(ctx.redisUrl, { maxRetriesPerRequest: null, enableAutoPipelining: false });
  const sink = new RedisListPusher({ redis, key, dedupe: 'outbox-id', logger: silentLogger });
  const outbox = new Outbox({ dir, sink, mode: 'write-ahead', sync: 'always', logger: silentLogger });
  await outbox.ready();
  return {
    outbox,
    redis,
    /** Waits until everything accepted reached the list, then checks it holds each exactly once. */
    async settle(): Promise<void> {
      await until(() => outbox.stats().backlogMessages === 0, SETTLE_MS, 'the backlog to drain');
      const { accepted } = outbox.stats();
      const listed = await redis.llen(key);
      if (listed !== accepted) throw new Error(`${accepted} messages accepted, ${listed} in the list`);
    },
    async dispose(): Promise<void> {
      await outbox.close({ timeoutMs: 5000 });
      await sink.close();
      await redis.del(key);
      await redis.quit();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Sink up: 256 senders for `ctx.seconds` while the forwarder pushes to Redis. */
export async function sinkUp(ctx: InProcessContext, size: number): Promise<InProcessResult> {
  const c = await openCase(ctx);
  const bodies = Array.from({ length: 26 }, (_, i) => bodyOf(size, i));
  try {
    const forwarded0 = c.outbox.stats().forwarded;
    const cpu = await cpuMeter(c.redis);
    const { rate, done } = await boundedLoops(ctx.seconds, SENDERS, Number.POSITIVE_INFINITY, (i) =>
      c.outbox.send(bodies[i % 26] as Buffer),
    );
    const sendCpu = await cpu.end(done);
    const forwardedPerSecond = (c.outbox.stats().forwarded - forwarded0) / ctx.seconds;
    await c.settle();
    return { sendsPerSecond: rate, sendCpu, forwardedPerSecond };
  } finally {
    await c.dispose();
  }
}

/**
 * Sink down: redis-server stopped, 256 senders for `ctx.seconds` (or until `backlog` messages); then
 * the backlog topped up to `backlog` with `sendBatch` (not measured), redis-server continued, and the
 * time until the backlog is empty measured.
 */
export async function sinkDownThenDrain(
  ctx: InProcessContext,
  size: number,
  backlog: number,
): Promise<InProcessResult> {
  const c = await openCase(ctx);
  const bodies = Array.from({ length: 26 }, (_, i) => bodyOf(size, i));
  let stopped = false;
  try {
    process.kill(ctx.redisPid, 'SIGSTOP');
    stopped = true;
    const cpu = await cpuMeter();
    const { rate, done } = await boundedLoops(ctx.seconds, SENDERS, backlog, (i) =>
      c.outbox.send(bodies[i % 26] as Buffer),
    );
    const sendCpu = await cpu.end(done);
    // The top-up is not measured: batches of 1,000, 4 in flight, until the backlog has its size.
    const batch = Array.from({ length: 1000 }, (_, i) => ({ body: bodies[i % 26] as Buffer }));
    let queued = c.outbox.stats().accepted;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (queued < backlog) {
          const n = Math.min(batch.length, backlog - queued);
          queued += n;
          await c.outbox.sendBatch(batch.slice(0, n));
        }
      }),
    );
    const { backlogMessages, forwarded } = c.outbox.stats();
    const resumed = performance.now();
    process.kill(ctx.redisPid, 'SIGCONT');
    stopped = false;
    const drainCpu = await cpuMeter(c.redis);
    // The drain is timed from the first message forwarded: a forwarder that gave up on the batch
    // stuck in the stopped server waits out its back-off first, which is reported apart.
    await until(() => c.outbox.stats().forwarded > forwarded, SETTLE_MS, 'the first forward');
    const t0 = performance.now();
    const forwarded0 = c.outbox.stats().forwarded;
    await until(() => c.outbox.stats().backlogMessages === 0, SETTLE_MS, 'the drain');
    const ms = performance.now() - t0;
    const drained = c.outbox.stats().forwarded - forwarded0;
    const cost = await drainCpu.end(backlogMessages);
    await c.settle();
    return {
      sendsPerSecond: rate,
      sendCpu,
      forwardedPerSecond: 0,
      drain: { messages: backlogMessages, perSecond: (drained / ms) * 1000, firstForwardMs: t0 - resumed, cpu: cost },
    };
  } finally {
    if (stopped) process.kill(ctx.redisPid, 'SIGCONT');
    await c.dispose();
  }
}
