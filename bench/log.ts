/**
 * `pnpm bench log`: @q/log against the disk's own limit and against lmdb, in one run, at records of
 * 128 B, 1 KB and 2 KB:
 *
 * - the raw limit: one file, a loop of `writev` of N records then `fdatasync`, N = 1, 16, 256;
 * - ours with sync 'always' (each append resolves after an fdatasync covering it) at 1, 16 and 256
 *   concurrent appenders, each awaiting its append before the next; sync 'none' at 256;
 * - lmdb 3.5.6 with its defaults, `put` of the same records under increasing keys by as many
 *   concurrent writers, each awaiting its put's `flushed` promise (`separateFlushed`), the point at
 *   which lmdb has synced it: the durability of sync 'always';
 * - replay of 1,000,000 records of 128 B from sequence 0 (reader, and read() in batches), random
 *   one-record reads, and the peak RSS of a separate plain-node process (the sources bundled by
 *   esbuild, no TypeScript loader) replaying 10,000,000 records.
 *
 * Every write case runs for SECONDS (Q_BENCH_LOG_SECONDS, default 1.5) in a fresh directory under
 * os.tmpdir(); the write cases run ROUNDS times (Q_BENCH_LOG_ROUNDS, default 3), interleaved, and the best
 * round counts (the disk of a shared virtual machine swings by a third from one second to the next). Writes
 * bench/results/log.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openLog, type SyncMode } from '@q/log';
import { build } from 'esbuild';
import { open as openLmdb } from 'lmdb';
import { type CaseResult, fmt, table } from './lib/cases.js';
import { machineLine, peakRssMiB } from './lib/machine.js';
import { bodyOf, rawSyncedWrite, timedLoops } from './lib/synced-write.js';

const SECONDS = Number(process.env.Q_BENCH_LOG_SECONDS ?? 1.5);
const ROUNDS = Number(process.env.Q_BENCH_LOG_ROUNDS ?? 3);
const REPLAY_N = 1_000_000;
const RSS_N = Number(process.env.Q_BENCH_LOG_RSS_RECORDS ?? 10_000_000);
const SIZES = [
  [128, '128 B'],
  [1024, '1 KB'],
  [2048, '2 KB'],
] as const;
const CONCURRENCY = [1, 16, 256] as const;

const root = fileURLToPath(new URL('..', import.meta.url));
const base = mkdtempSync(join(tmpdir(), 'q-bench-log-'));
let dirSeq = 0;
const freshDir = (): string => join(base, `d${dirSeq++}`);
const appenders = (c: number): string => `${c} appender${c === 1 ? '' : 's'}`;

const names = {
  raw: (n: number, size: string) => `raw writev + fdatasync, ${n} per sync, ${size}`,
  always: (c: number, size: string) => `log always, ${appenders(c)}, ${size}`,
  none: (size: string) => `log none, 256 appenders, ${size}`,
  lmdb: (c: number, size: string) => `lmdb put awaiting flushed, ${c} writer${c === 1 ? '' : 's'}, ${size}`,
  replayReader: 'log replay from 0, reader, 1,000,000 x 128 B',
  replayRead: 'log replay from 0, read() batches of 4,096, 1,000,000 x 128 B',
  randomRead: 'log random read(seq, { max: 1 }), 1,000,000 x 128 B',
  rss: `log replay from 0 in its own process, ${fmt(RSS_N)} x 128 B (memory)`,
};

/** Runs `concurrency` loops of `op` for SECONDS; returns operations per second (see timedLoops). */
const loops = (concurrency: number, op: (i: number) => Promise<unknown>): Promise<number> =>
  timedLoops(SECONDS, concurrency, op);

/** The disk's limit: `writev` of `n` records then `fdatasync`, in a loop (bench/lib/synced-write.ts). */
const raw = (n: number, size: number): Promise<number> => rawSyncedWrite(`${freshDir()}.raw`, n, size, SECONDS);

async function ours(sync: SyncMode, concurrency: number, size: number): Promise<number> {
  const dir = freshDir();
  const log = await openLog({ dir, sync });
  const bodies = Array.from({ length: 26 }, (_, i) => bodyOf(size, i));
  try {
    const rate = await loops(concurrency, (i) => log.append(bodies[i % 26] as Buffer));
    if (log.durableSeq !== log.nextSeq) throw new Error('appends resolved before they were durable');
    return rate;
  } finally {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function lmdb(concurrency: number, size: number): Promise<number> {
  const dir = freshDir();
  const db = openLmdb<Buffer, number>({ path: dir, encoding: 'binary', separateFlushed: true });
  const bodies = Array.from({ length: 26 }, (_, i) => bodyOf(size, i));
  let key = 0;
  try {
    return await loops(concurrency, async (i) => {
      const put = db.put(key++, bodies[i % 26] as Buffer) as Promise<boolean> & { flushed: Promise<void> };
      await put;
      await put.flushed;
    });
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Fills a log with `n` records of 128 B (sync 'none', batches of 1,000; not measured). */
async function fill(dir: string, n: number): Promise<void> {
  const log = await openLog({ dir, sync: 'none' });
  const batch = Array.from({ length: 1000 }, (_, i) => bodyOf(128, i));
  for (let i = 0; i < n; i += 1000) await log.appendBatch(batch);
  await log.close();
}

async function replayCases(): Promise<CaseResult[]> {
  const dir = freshDir();
  await fill(dir, REPLAY_N);
  const log = await openLog({ dir, sync: 'none' });
  try {
    // Each replay runs ROUNDS times and the best counts, as the write cases; every record's body is read.
    let reader = 0;
    let read = 0;
    for (let round = 0; round < ROUNDS; round++) {
      let t0 = performance.now();
      let n = 0;
      let bytes = 0;
      for await (const r of log.reader({ from: 0, batch: 4096 })) {
        n++;
        bytes += r.body.length;
        if (r.seq === REPLAY_N - 1) break;
      }
      reader = Math.max(reader, (n / (performance.now() - t0)) * 1000);
      if (n !== REPLAY_N || bytes !== REPLAY_N * 128) throw new Error(`reader replayed ${n} (${bytes} bytes)`);
      t0 = performance.now();
      n = 0;
      bytes = 0;
      for (let from = 0; from < REPLAY_N; ) {
        const batch = await log.read(from, { max: 4096 });
        for (const r of batch) bytes += r.body.length;
        n += batch.length;
        from += batch.length;
      }
      read = Math.max(read, (n / (performance.now() - t0)) * 1000);
      if (n !== REPLAY_N || bytes !== REPLAY_N * 128) throw new Error(`read() replayed ${n} (${bytes} bytes)`);
    }
    const until = performance.now() + SECONDS * 1000;
    const t0 = performance.now();
    let reads = 0;
    while (performance.now() < until) {
      const seq = Math.floor(Math.random() * REPLAY_N);
      const [r] = await log.read(seq, { max: 1 });
      if (r?.seq !== seq) throw new Error(`read(${seq}) returned ${r?.seq}`);
      reads++;
    }
    const random = (reads / (performance.now() - t0)) * 1000;
    const rss = peakRssMiB();
    return [
      { name: names.replayReader, messagesPerSecond: Math.round(reader), peakRssMiB: rss },
      { name: names.replayRead, messagesPerSecond: Math.round(read), peakRssMiB: rss },
      { name: names.randomRead, messagesPerSecond: Math.round(random), peakRssMiB: rss },
    ];
  } finally {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The replay of the memory case, bundled with the sources so plain node runs it. */
const REPLAY_SCRIPT = `
import { openLog } from '@q/log';
const [dir, total, name] = [process.argv[2], Number(process.argv[3]), process.argv[4]];
const log = await openLog({ dir, sync: 'none' });
const t0 = performance.now();
let n = 0;
let bytes = 0;
for await (const r of log.reader({ from: 0, batch: 4096 })) {
  n++;
  bytes += r.body.length;
  if (r.seq === total - 1) break;
}
const ms = performance.now() - t0;
await log.close();
if (n !== total || bytes !== total * 128) throw new Error('replayed ' + n + ' (' + bytes + ' bytes)');
const peakRssMiB = Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
console.log(JSON.stringify({ name, messagesPerSecond: Math.round((n / ms) * 1000), peakRssMiB }));
`;

async function memoryCase(): Promise<CaseResult> {
  const dir = freshDir();
  const script = join(base, 'replay.mjs');
  await build({
    stdin: { contents: REPLAY_SCRIPT, resolveDir: root, sourcefile: 'replay.mjs', loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@q/source'],
    outfile: script,
    logLevel: 'warning',
  });
  const t0 = performance.now();
  await fill(dir, RSS_N);
  console.error(`  filled ${fmt(RSS_N)} records in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  try {
    const run = spawnSync(process.execPath, [script, dir, String(RSS_N), names.rss], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 5 * 60_000,
    });
    if (run.status !== 0) throw new Error(`memory case failed: ${run.status ?? run.signal}`);
    return JSON.parse(run.stdout.trim().split('\n').pop() ?? '') as CaseResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const best = new Map<string, number>();
  const note = (name: string, rate: number, round: number): void => {
    console.error(`  round ${round}, ${name}: ${fmt(rate)}/s`);
    best.set(name, Math.max(best.get(name) ?? 0, Math.round(rate)));
  };
  // The replays first, in a process whose heap the write cases (lmdb's included) have not filled yet.
  const replays = await replayCases();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [size, label] of SIZES) {
      // Each pair a ratio compares runs back to back, so both see the same moment of a noisy machine.
      for (const c of CONCURRENCY) {
        // N records per sync for the raw loop, N concurrent appenders or writers for the others.
        note(names.raw(c, label), await raw(c, size), round);
        note(names.always(c, label), await ours('always', c, size), round);
        note(names.lmdb(c, label), await lmdb(c, size), round);
      }
      note(names.none(label), await ours('none', 256, size), round);
    }
  }
  const results: CaseResult[] = [...best].map(([name, messagesPerSecond]) => ({
    name,
    messagesPerSecond,
    peakRssMiB: peakRssMiB(),
  }));
  results.push(...replays);
  const memory = await memoryCase();
  console.error(`  ${memory.name}: ${fmt(memory.messagesPerSecond)}/s, peak RSS ${memory.peakRssMiB} MiB`);
  results.push(memory);

  const rate = (name: string): number => results.find((r) => r.name === name)?.messagesPerSecond ?? Number.NaN;
  const r2 = (x: number): number => Math.round(x * 100) / 100;
  const ratios: Record<string, number> = {};
  for (const [, label] of SIZES) {
    ratios[`log always, 256 appenders / raw writev+fdatasync x256, ${label} (target >= 0.6)`] = r2(
      rate(names.always(256, label)) / rate(names.raw(256, label)),
    );
  }
  for (const [, label] of SIZES) {
    ratios[`log always, 1 appender / raw 1 record per sync, ${label} (target >= 0.8)`] = r2(
      rate(names.always(1, label)) / rate(names.raw(1, label)),
    );
  }
  for (const [c, label] of [[1, '128 B'], [16, '128 B'], ...SIZES.map(([, l]) => [256, l] as const)] as const) {
    ratios[`log always / lmdb at equal durability, ${appenders(c)}, ${label} (target >= 1)`] = r2(
      rate(names.always(c, label)) / rate(names.lmdb(c, label)),
    );
  }
  ratios['replay records/s at 128 B (target >= 2,000,000)'] = rate(names.replayReader);
  ratios[`peak RSS MiB replaying ${RSS_N === 10_000_000 ? '10M' : fmt(RSS_N)} (target <= 150)`] = memory.peakRssMiB;

  const report = {
    suite: 'log',
    machine: machineLine(),
    node: process.version,
    date: new Date().toISOString(),
    results,
    ratios,
  };
  writeFileSync(new URL('./results/log.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nlog — ${report.machine}, node ${report.node}`);
  console.log(
    table([
      ['case', 'records/s', 'peak RSS MiB'],
      ...results.map((r) => [r.name, fmt(r.messagesPerSecond), String(r.peakRssMiB)]),
    ]),
  );
  console.log(`\n${table([['ratio', 'value'], ...Object.entries(ratios).map(([k, v]) => [k, String(v)])])}`);
}

try {
  await main();
} finally {
  rmSync(base, { recursive: true, force: true });
}
