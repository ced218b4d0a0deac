/**
 * `pnpm bench outbox`: @q/outbox against the original proxy's published figures and against the
 * disk's synced-write limit, in one run, at messages of 10 B, 1 KB and 5 KB:
 *
 * - the reference line: pan's published figures (one sequential client, no fsync), constants;
 * - the raw synced-write limit, measured here as `pnpm bench log` measures it (`writev` of 256
 *   records then `fdatasync`, in a loop), and at 5 KB the synced bandwidth in MB/s;
 * - ours in-process (bench/lib/outbox-in-process.ts): write-ahead, sync 'always', 256 concurrent
 *   senders, a RedisListPusher sink with `dedupe: 'outbox-id'`: sink up, sink down (spill) and the
 *   drain once the sink is back;
 * - through the proxy (bench/lib/outbox-proxy.ts): `q-outbox serve` in its own process, 256
 *   keep-alive connections, one message per request and NDJSON batches of 100, at 10 B.
 *
 * Starts its own redis-server on a free loopback port with its own directory. Every measured phase
 * runs SECONDS (Q_BENCH_OUTBOX_SECONDS, default 2); the cases run ROUNDS times (Q_BENCH_OUTBOX_ROUNDS,
 * default 3), interleaved, the best round counting (the disk of a shared virtual machine swings by a
 * third). Writes bench/results/outbox.json.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRedisServer } from '../packages/redis/test/support/redis-server.js';
import { fmt, table } from './lib/cases.js';
import { machineLine, peakRssMiB } from './lib/machine.js';
import { type InProcessContext, SENDERS, sinkDownThenDrain, sinkUp } from './lib/outbox-in-process.js';
import { CONNECTIONS, NDJSON_LINES, type ProxyResult, proxyCase, startProxy } from './lib/outbox-proxy.js';
import { rawSyncedWrite } from './lib/synced-write.js';

const SECONDS = Number(process.env.Q_BENCH_OUTBOX_SECONDS ?? 2);
const ROUNDS = Number(process.env.Q_BENCH_OUTBOX_ROUNDS ?? 3);
const WARMUP_SECONDS = 0.5;
/** Size, label, and the backlog the drain starts from (smaller for larger messages: same minutes, less disk). */
const SIZES = [
  [10, '10 B', 500_000],
  [1024, '1 KB', 200_000],
  [5120, '5 KB', 50_000],
] as const;
const PROXY_SIZE = [10, '10 B'] as const;
/** pan-doc test/performance.md: one sequential client (`go test -bench`), no fsync, 4 cores. */
const PAN = [
  ['10 B', 19_000],
  ['100 B', 18_300],
  ['1000 B', 17_200],
  ['5 KB', 15_300],
] as const;
const DRAIN_TARGET = 100_000;

const names = {
  pan: (size: string) => `reference: pan proxy as published (1 sequential client, no fsync), ${size}`,
  raw: (size: string) => `raw writev + fdatasync, 256 per sync, ${size}`,
  up: (size: string) => `ours in-process, sink up, ${SENDERS} senders, ${size}`,
  down: (size: string) => `ours in-process, sink down (spill), ${SENDERS} senders, ${size}`,
  drain: (size: string) => `ours in-process, drain to Redis from a backlog, ${size}`,
  proxyOne: (size: string) => `ours proxy, 1 message per request, ${CONNECTIONS} connections, ${size}`,
  proxyBatch: (size: string) => `ours proxy, NDJSON x${NDJSON_LINES} per request, ${CONNECTIONS} connections, ${size}`,
};

type Result = { name: string; messagesPerSecond: number } & Record<string, number | string>;

const base = mkdtempSync(join(tmpdir(), 'q-bench-outbox-'));
let seq = 0;
const server = await startRedisServer();
const redis = new Redis(server.url, { maxRetriesPerRequest: null });
const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]);
const ctx: InProcessContext = {
  redisUrl: server.url,
  redisPid,
  freshDir: () => join(base, `d${seq++}`),
  freshKey: () => `bench:outbox:${process.pid}:${seq++}`,
  seconds: SECONDS,
};

/** The best round of each case (by messages per second), with what else it measured. */
const best = new Map<string, Result>();
function note(result: Result, round: number, extra = ''): void {
  console.error(`  round ${round}, ${result.name}: ${fmt(result.messagesPerSecond)} msg/s${extra}`);
  const seen = best.get(result.name);
  if (!seen || result.messagesPerSecond > seen.messagesPerSecond) best.set(result.name, result);
}

const mb = (messagesPerSecond: number, size: number): number => Math.round((messagesPerSecond * size) / 1e5) / 10;
const r2 = (x: number): number => Math.round(x * 100) / 100;
const r1 = (x: number): number => Math.round(x * 10) / 10;

async function inProcessRound(round: number): Promise<void> {
  for (const [size, label, backlog] of SIZES) {
    // The raw limit and the case compared with it run back to back, to see the same moment of the disk.
    const raw = await rawSyncedWrite(join(base, `raw${seq++}`), 256, size, SECONDS);
    note({ name: names.raw(label), messagesPerSecond: Math.round(raw), megabytesPerSecond: mb(raw, size) }, round);
    const up = await sinkUp(ctx, size);
    note(
      {
        name: names.up(label),
        messagesPerSecond: Math.round(up.sendsPerSecond),
        megabytesPerSecond: mb(up.sendsPerSecond, size),
        forwardedPerSecondWhileSending: Math.round(up.forwardedPerSecond),
      },
      round,
      `, forwarded meanwhile ${fmt(up.forwardedPerSecond)}/s`,
    );
    const down = await sinkDownThenDrain(ctx, size, backlog);
    note(
      {
        name: names.down(label),
        messagesPerSecond: Math.round(down.sendsPerSecond),
        megabytesPerSecond: mb(down.sendsPerSecond, size),
      },
      round,
    );
    const drain = down.drain as NonNullable<typeof down.drain>;
    note(
      {
        name: names.drain(label),
        messagesPerSecond: Math.round(drain.perSecond),
        backlogMessages: drain.messages,
        firstForwardAfterResumeMs: Math.round(drain.firstForwardMs),
      },
      round,
      ` (backlog ${fmt(drain.messages)}, first forward ${fmt(drain.firstForwardMs)} ms after SIGCONT)`,
    );
  }
}

function proxyResult(name: string, r: ProxyResult): Result {
  return {
    name,
    messagesPerSecond: Math.round(r.messagesPerSecond),
    requestsPerSecond: Math.round(r.requestsPerSecond),
    meanLatencyMs: r1(r.meanLatencyMs),
    proxyCpuUsPerRequest: r1(r.proxyCpuUsPerRequest),
    clientCpuUsPerRequest: r1(r.clientCpuUsPerRequest),
    redisCpuUsPerRequest: r1(r.redisCpuUsPerRequest),
    proxyCores: r2(r.proxyCores),
    clientCores: r2(r.clientCores),
  };
}

const cpuLine = (r: ProxyResult): string =>
  `; ${fmt(r.requestsPerSecond)} req/s, mean latency ${r1(r.meanLatencyMs)} ms; per request CPU: proxy ${r1(r.proxyCpuUsPerRequest)} µs, client ${r1(r.clientCpuUsPerRequest)} µs, ` +
  `redis ${r1(r.redisCpuUsPerRequest)} µs; cores: proxy ${r2(r.proxyCores)}, client ${r2(r.clientCores)}`;

async function proxyRound(round: number): Promise<void> {
  const [size, label] = PROXY_SIZE;
  const key = ctx.freshKey();
  const proxy = await startProxy(ctx.freshDir(), server.url, key);
  try {
    // A fresh proxy process compiles its hot paths and opens its 256 connections first: not measured.
    await proxyCase(proxy, redis, size, false, WARMUP_SECONDS);
    await proxyCase(proxy, redis, size, true, WARMUP_SECONDS);
    const one = await proxyCase(proxy, redis, size, false, SECONDS);
    note(proxyResult(names.proxyOne(label), one), round, cpuLine(one));
    const batch = await proxyCase(proxy, redis, size, true, SECONDS);
    note(proxyResult(names.proxyBatch(label), batch), round, cpuLine(batch));
    // Everything acknowledged must reach the list exactly once before the proxy goes.
    const deadline = performance.now() + 120_000;
    let listed = await redis.llen(key);
    while (listed < proxy.acknowledged && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      listed = await redis.llen(key);
    }
    if (listed !== proxy.acknowledged)
      throw new Error(`proxy acknowledged ${proxy.acknowledged}, list holds ${listed}`);
  } finally {
    await proxy.stop();
    await redis.del(key);
  }
}

async function main(): Promise<void> {
  for (let round = 1; round <= ROUNDS; round++) {
    await inProcessRound(round);
    await proxyRound(round);
  }
  const rss = peakRssMiB();
  const results: Result[] = [
    ...PAN.map(([size, rate]) => ({
      name: names.pan(size),
      messagesPerSecond: rate,
      source: 'published figure (constant)',
    })),
    ...[...best.values()].map((r) => ({ ...r, peakRssMiB: rss })),
  ];
  const rate = (name: string): number => best.get(name)?.messagesPerSecond ?? Number.NaN;
  const pan10 = PAN[0][1];
  const ratios: Record<string, number> = {};
  ratios['in-process 10 B / pan reference (target >= 10)'] = r2(rate(names.up('10 B')) / pan10);
  for (const [, label] of SIZES) {
    ratios[`in-process ${label} / raw synced-write limit (target >= 0.6)`] = r2(
      rate(names.up(label)) / rate(names.raw(label)),
    );
  }
  ratios['in-process 5 KB MB/s / disk synced MB/s (target >= 0.6)'] = r2(
    Number(best.get(names.up('5 KB'))?.megabytesPerSecond) / Number(best.get(names.raw('5 KB'))?.megabytesPerSecond),
  );
  ratios['proxy 1 msg/request / pan reference 10 B (target >= 1)'] = r2(rate(names.proxyOne('10 B')) / pan10);
  ratios[`proxy NDJSON x${NDJSON_LINES} / pan reference 10 B (target >= 5)`] = r2(
    rate(names.proxyBatch('10 B')) / pan10,
  );
  ratios[`drain to Redis msg/s, 10 B (target >= ${fmt(DRAIN_TARGET)})`] = rate(names.drain('10 B'));

  const report = {
    suite: 'outbox',
    machine: machineLine(),
    node: process.version,
    redis: /redis_version:(\S+)/.exec(await redis.info('server'))?.[1],
    date: new Date().toISOString(),
    results,
    ratios,
  };
  writeFileSync(new URL('./results/outbox.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\noutbox — ${report.machine}, node ${report.node}, redis ${report.redis}`);
  console.log(
    table([
      ['case', 'msg/s', 'MB/s'],
      ...results.map((r) => [
        r.name,
        fmt(r.messagesPerSecond),
        typeof r.megabytesPerSecond === 'number' ? String(r.megabytesPerSecond) : '',
      ]),
    ]),
  );
  console.log('\nwhere the proxy time goes (CPU per request, cores used during the phase):');
  for (const name of [names.proxyOne('10 B'), names.proxyBatch('10 B')]) {
    const r = best.get(name);
    if (r)
      console.log(
        `  ${name}: ${fmt(Number(r.requestsPerSecond))} req/s, mean latency ${r.meanLatencyMs} ms; proxy ${r.proxyCpuUsPerRequest} µs, client ` +
          `${r.clientCpuUsPerRequest} µs, redis ${r.redisCpuUsPerRequest} µs per request; ` +
          `proxy ${r.proxyCores} cores, client ${r.clientCores} cores`,
      );
  }
  console.log(`\n${table([['ratio', 'value'], ...Object.entries(ratios).map(([k, v]) => [k, String(v)])])}`);
}

try {
  await main();
} finally {
  await redis.quit();
  await server.dispose();
  rmSync(base, { recursive: true, force: true });
}
