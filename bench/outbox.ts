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
 *   keep-alive connections, one message per request and NDJSON batches of 100, at 10 B; and the same
 *   client against a plain node:http server that stores nothing (the machine's HTTP floor).
 *
 * Starts its own redis-server on a free loopback port with its own directory. Every measured phase
 * runs SECONDS (Q_BENCH_OUTBOX_SECONDS, default 2); the cases run ROUNDS times (Q_BENCH_OUTBOX_ROUNDS,
 * default 5), interleaved, after an unmeasured warm-up of each path. The rates reported are each case's
 * best round; a ratio to the raw limit is the median over the rounds of each outbox round against the
 * raw round run just before it (the disk of a shared virtual machine swings by a third within a minute,
 * so best against best compared different moments). Writes bench/results/outbox.json.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRedisServer } from '../packages/redis/test/support/redis-server.js';
import { fmt, table } from './lib/cases.js';
import { machineLine, peakRssMiB } from './lib/machine.js';
import { type CpuCost, type InProcessContext, SENDERS, sinkDownThenDrain, sinkUp } from './lib/outbox-in-process.js';
import {
  CONNECTIONS,
  NDJSON_LINES,
  type ProxyHandle,
  type ProxyResult,
  proxyCase,
  startHttpFloor,
  startProxy,
} from './lib/outbox-proxy.js';
import { rawSyncedWrite } from './lib/synced-write.js';

const SECONDS = Number(process.env.Q_BENCH_OUTBOX_SECONDS ?? 2);
const ROUNDS = Number(process.env.Q_BENCH_OUTBOX_ROUNDS ?? 5);
const WARMUP_SECONDS = 3;
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
  floor: (size: string) =>
    `HTTP floor: node:http answering at once, storing nothing, 1 message per request, ${CONNECTIONS} connections, ${size}`,
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
/** Each case's rate in every round, in round order. */
const byRound = new Map<string, number[]>();
function note(result: Result, round: number, extra = ''): void {
  console.error(`  round ${round}, ${result.name}: ${fmt(result.messagesPerSecond)} msg/s${extra}`);
  byRound.set(result.name, [...(byRound.get(result.name) ?? []), result.messagesPerSecond]);
  const seen = best.get(result.name);
  if (!seen || result.messagesPerSecond > seen.messagesPerSecond) best.set(result.name, result);
}

const mb = (messagesPerSecond: number, size: number): number => Math.round((messagesPerSecond * size) / 1e5) / 10;
const r2 = (x: number): number => Math.round(x * 100) / 100;
const r1 = (x: number): number => Math.round(x * 10) / 10;

/** The CPU fields of a result, and the same as words for the progress line. */
function cpuFields(cost: CpuCost): Record<string, number> {
  const fields: Record<string, number> = { cpuUsPerMessage: r1(cost.usPerMessage), cores: r2(cost.cores) };
  if (cost.redisUsPerMessage !== undefined) fields.redisCpuUsPerMessage = r1(cost.redisUsPerMessage);
  return fields;
}
const cpuWords = (cost: CpuCost): string =>
  `; CPU ${r1(cost.usPerMessage)} µs/msg (${r2(cost.cores)} cores)` +
  (cost.redisUsPerMessage === undefined ? '' : `, redis ${r1(cost.redisUsPerMessage)} µs/msg`);

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
        ...cpuFields(up.sendCpu),
      },
      round,
      `, forwarded meanwhile ${fmt(up.forwardedPerSecond)}/s${cpuWords(up.sendCpu)}`,
    );
    const down = await sinkDownThenDrain(ctx, size, backlog);
    note(
      {
        name: names.down(label),
        messagesPerSecond: Math.round(down.sendsPerSecond),
        megabytesPerSecond: mb(down.sendsPerSecond, size),
        ...cpuFields(down.sendCpu),
      },
      round,
      cpuWords(down.sendCpu),
    );
    const drain = down.drain as NonNullable<typeof down.drain>;
    note(
      {
        name: names.drain(label),
        messagesPerSecond: Math.round(drain.perSecond),
        backlogMessages: drain.messages,
        firstForwardAfterResumeMs: Math.round(drain.firstForwardMs),
        ...cpuFields(drain.cpu),
      },
      round,
      ` (backlog ${fmt(drain.messages)}, first forward ${fmt(drain.firstForwardMs)} ms after SIGCONT)${cpuWords(drain.cpu)}`,
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

/** The proxy and the HTTP floor, started once: a proxy process runs its first seconds several times slower (JIT). */
interface Servers {
  readonly proxy: ProxyHandle;
  readonly key: string;
  readonly floor: ProxyHandle;
}

async function startServers(): Promise<Servers> {
  const key = ctx.freshKey();
  const proxy = await startProxy(ctx.freshDir(), server.url, key);
  const floor = await startHttpFloor();
  const [size] = PROXY_SIZE;
  console.error(`  warming up the proxy and the HTTP floor (${WARMUP_SECONDS * 3} s, not measured)`);
  await proxyCase(proxy, redis, size, false, WARMUP_SECONDS);
  await proxyCase(proxy, redis, size, true, WARMUP_SECONDS);
  await proxyCase(floor, redis, size, false, WARMUP_SECONDS);
  await settleProxy({ proxy, key, floor });
  return { proxy, key, floor };
}

/** Waits until everything the proxy acknowledged is in the list, exactly once (the next cases then run beside an idle proxy). */
async function settleProxy({ proxy, key }: Servers): Promise<void> {
  const deadline = performance.now() + 120_000;
  let listed = await redis.llen(key);
  while (listed < proxy.acknowledged && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    listed = await redis.llen(key);
  }
  if (listed !== proxy.acknowledged) throw new Error(`proxy acknowledged ${proxy.acknowledged}, list holds ${listed}`);
}

async function proxyRound(servers: Servers, round: number): Promise<void> {
  const [size, label] = PROXY_SIZE;
  const one = await proxyCase(servers.proxy, redis, size, false, SECONDS);
  note(proxyResult(names.proxyOne(label), one), round, cpuLine(one));
  const batch = await proxyCase(servers.proxy, redis, size, true, SECONDS);
  note(proxyResult(names.proxyBatch(label), batch), round, cpuLine(batch));
  // The same client against a server that does nothing but answer: what HTTP alone costs on this machine.
  const floor = await proxyCase(servers.floor, redis, size, false, SECONDS);
  note(proxyResult(names.floor(label), floor), round, cpuLine(floor));
  await settleProxy(servers);
}

/** The median over the rounds of `name`'s rate against `against`'s in the same round. */
function paired(name: string, against: string): number {
  const a = byRound.get(name) ?? [];
  const b = byRound.get(against) ?? [];
  const ratios = a.map((x, i) => x / (b[i] ?? Number.NaN)).sort((x, y) => x - y);
  const mid = ratios.length >> 1;
  return ratios.length % 2 === 1
    ? (ratios[mid] as number)
    : ((ratios[mid - 1] as number) + (ratios[mid] as number)) / 2;
}

/** Runs each in-process path once, unmeasured: the first seconds of a fresh process run it several times slower (JIT). */
async function warmInProcess(): Promise<void> {
  console.error(`  warming up the in-process path (${SIZES.length} s, not measured)`);
  for (const [size] of SIZES) await sinkUp({ ...ctx, seconds: 1 }, size);
}

async function main(): Promise<void> {
  // Other work on a shared machine shows in the rates: the load average is kept beside them.
  const loadAtStart = loadavg()[0] as number;
  await warmInProcess();
  const servers = await startServers();
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      await inProcessRound(round);
      await proxyRound(servers, round);
    }
  } finally {
    await servers.proxy.stop();
    await servers.floor.stop();
    await redis.del(servers.key);
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
  ratios['in-process sink up 10 B / pan reference (target >= 10)'] = r2(rate(names.up('10 B')) / pan10);
  for (const [, label] of SIZES) {
    ratios[`in-process sink up ${label} / raw synced-write limit (target >= 0.6)`] = r2(
      paired(names.up(label), names.raw(label)),
    );
  }
  // The same with the sink down: the write path alone, no forwarder sharing the thread.
  for (const [, label] of SIZES) {
    ratios[`in-process spill ${label} / raw synced-write limit (target >= 0.6)`] = r2(
      paired(names.down(label), names.raw(label)),
    );
  }
  // MB/s of the same size: the ratio of the message rates.
  ratios['in-process sink up 5 KB MB/s / disk synced MB/s (target >= 0.6)'] = r2(
    paired(names.up('5 KB'), names.raw('5 KB')),
  );
  // How the earlier method (best round against best round) reads the same run, for comparison.
  const bestRoundRatios: Record<string, number> = {};
  for (const [, label] of SIZES)
    bestRoundRatios[`in-process sink up ${label} / raw, best round against best round`] = r2(
      rate(names.up(label)) / rate(names.raw(label)),
    );
  ratios['proxy 1 msg/request / pan reference 10 B (target >= 1)'] = r2(rate(names.proxyOne('10 B')) / pan10);
  ratios[`proxy NDJSON x${NDJSON_LINES} / pan reference 10 B (target >= 5)`] = r2(
    rate(names.proxyBatch('10 B')) / pan10,
  );
  ratios['proxy 1 msg/request / HTTP floor (no storage), 10 B'] = r2(
    rate(names.proxyOne('10 B')) / rate(names.floor('10 B')),
  );
  ratios[`drain to Redis msg/s, 10 B (target >= ${fmt(DRAIN_TARGET)})`] = rate(names.drain('10 B'));

  const report = {
    suite: 'outbox',
    machine: machineLine(),
    node: process.version,
    redis: /redis_version:(\S+)/.exec(await redis.info('server'))?.[1],
    date: new Date().toISOString(),
    load: `1-min average ${loadAtStart.toFixed(1)} at start, ${(loadavg()[0] as number).toFixed(1)} at end`,
    results,
    ratios,
    bestRoundRatios,
  };
  writeFileSync(new URL('./results/outbox.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\noutbox — ${report.machine}, node ${report.node}, redis ${report.redis}, load ${report.load}`);
  const cell = (r: Result, field: string): string => (typeof r[field] === 'number' ? String(r[field]) : '');
  console.log(
    table([
      ['case', 'msg/s', 'MB/s', 'CPU µs/msg', 'cores', 'redis µs/msg'],
      ...results.map((r) => [
        r.name,
        fmt(r.messagesPerSecond),
        cell(r, 'megabytesPerSecond'),
        cell(r, 'cpuUsPerMessage'),
        cell(r, 'cores'),
        cell(r, 'redisCpuUsPerMessage'),
      ]),
    ]),
  );
  console.log('\nwhere the proxy time goes (CPU per request, cores used during the phase):');
  for (const name of [names.proxyOne('10 B'), names.proxyBatch('10 B'), names.floor('10 B')]) {
    const r = best.get(name);
    if (r)
      console.log(
        `  ${name}: ${fmt(Number(r.requestsPerSecond))} req/s, mean latency ${r.meanLatencyMs} ms; proxy ${r.proxyCpuUsPerRequest} µs, client ` +
          `${r.clientCpuUsPerRequest} µs, redis ${r.redisCpuUsPerRequest} µs per request; ` +
          `proxy ${r.proxyCores} cores, client ${r.clientCores} cores`,
      );
  }
  console.log(`\n${table([['ratio', 'value'], ...Object.entries(ratios).map(([k, v]) => [k, String(v)])])}`);
  console.log(
    `\n${table([['for comparison', 'value'], ...Object.entries(bestRoundRatios).map(([k, v]) => [k, String(v)])])}`,
  );
}

try {
  await main();
} finally {
  await redis.quit();
  await server.dispose();
  rmSync(base, { recursive: true, force: true });
}
