/**
 * `pnpm bench core`: the Queue against the in-process limit and the libraries a Node user would pick
 * instead, in one run. Each case runs in its own process (so its peak RSS is its own), three times;
 * the best run counts. Writes bench/results/core.json.
 */
import { writeFileSync } from 'node:fs';
import { Queue } from '@q/core';
import fastq from 'fastq';
import pLimit from 'p-limit';
import PQueue from 'p-queue';
import { type CaseResult, fmt, runCaseInChild, table } from './lib/cases.js';
import { BatchChannel, PromiseChannel } from './lib/channels.js';
import { machineLine, peakRssMiB } from './lib/machine.js';

const N = 1_000_000;
const CONSUMERS = 8;
const BATCH = 256;
const CAPACITY = 1024;
const noop = async (_m: unknown): Promise<void> => {};

type Case = (n: number) => Promise<number>;

function counter(n: number): { hit(k: number): void; done: Promise<void> } {
  let left = n;
  let resolve!: () => void;
  const done = new Promise<void>((r) => {
    resolve = r;
  });
  return {
    hit(k) {
      left -= k;
      if (left === 0) resolve();
      if (left < 0) throw new Error('more messages than sent');
    },
    done,
  };
}

async function runQueue(n: number, batch: boolean, capacity = CAPACITY): Promise<number> {
  let next = 0;
  const c = counter(n);
  const queue = new Queue<number>(
    () => ({
      produce() {
        if (next >= n) return undefined;
        if (!batch) return next++;
        const size = Math.min(BATCH, n - next);
        const out = new Array<number>(size);
        for (let k = 0; k < size; k++) out[k] = next++;
        return out;
      },
    }),
    () =>
      batch
        ? {
            consume: noop,
            async consumeBatch(messages: readonly number[]) {
              await noop(messages);
              c.hit(messages.length);
            },
          }
        : {
            async consume(m: number) {
              await noop(m);
              c.hit(1);
            },
          },
    { producers: 1, consumers: CONSUMERS, capacity, batchSize: BATCH, statsIntervalMs: 0 },
  );
  const t0 = performance.now();
  const running = queue.start();
  await c.done;
  const elapsed = performance.now() - t0;
  await queue.stop();
  await running;
  return elapsed;
}

const cases: Record<string, Case> = {
  'queue batch path': (n) => runQueue(n, true),
  'queue one-at-a-time path': (n) => runQueue(n, false),
  'hand-written batch channel (arrays of 256)': async (n) => {
    const ch = new BatchChannel<number>(CAPACITY);
    const c = counter(n);
    const t0 = performance.now();
    const consumers = Array.from({ length: CONSUMERS }, async () => {
      for (let b = await ch.receive(); b !== undefined; b = await ch.receive()) {
        await noop(b);
        c.hit(b.length);
      }
    });
    for (let next = 0; next < n; ) {
      const size = Math.min(BATCH, n - next);
      const out = new Array<number>(size);
      for (let k = 0; k < size; k++) out[k] = next++;
      await ch.send(out);
    }
    await c.done;
    const elapsed = performance.now() - t0;
    ch.close();
    await Promise.all(consumers);
    return elapsed;
  },
  'hand-written channel, one promise per message': async (n) => {
    const ch = new PromiseChannel<number>(CAPACITY);
    const c = counter(n);
    const t0 = performance.now();
    const consumers = Array.from({ length: CONSUMERS }, async () => {
      for (let m = await ch.receive(); m !== undefined; m = await ch.receive()) {
        await noop(m);
        c.hit(1);
      }
    });
    for (let next = 0; next < n; next++) await ch.send(next);
    await c.done;
    const elapsed = performance.now() - t0;
    ch.close();
    await Promise.all(consumers);
    return elapsed;
  },
  'fastq (callback API, concurrency 8)': async (n) => {
    const c = counter(n);
    const q = fastq((m: number, cb: (err: Error | null) => void) => {
      noop(m).then(() => {
        c.hit(1);
        cb(null);
      });
    }, CONSUMERS);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) q.push(i);
    await c.done;
    return performance.now() - t0;
  },
  'p-limit (concurrency 8)': async (n) => {
    const c = counter(n);
    const limit = pLimit(CONSUMERS);
    const t0 = performance.now();
    const all: Promise<void>[] = new Array(n);
    for (let i = 0; i < n; i++)
      all[i] = limit(async () => {
        await noop(i);
        c.hit(1);
      });
    await Promise.all(all);
    return performance.now() - t0;
  },
  'p-queue (concurrency 8)': async (n) => {
    const c = counter(n);
    const q = new PQueue({ concurrency: CONSUMERS });
    const t0 = performance.now();
    for (let i = 0; i < n; i++)
      void q.add(async () => {
        await noop(i);
        c.hit(1);
      });
    await q.onIdle();
    await c.done;
    return performance.now() - t0;
  },
  'queue, 10,000,000 messages through capacity 1,024 (memory)': (n) => runQueue(n * 10, false),
};

async function child(name: string): Promise<void> {
  const run = cases[name];
  if (run === undefined) throw new Error(`unknown case ${name}`);
  const memory = name.includes('10,000,000');
  const runs = memory ? 1 : 3;
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) best = Math.min(best, await run(N));
  const messages = memory ? N * 10 : N;
  const result: CaseResult = {
    name,
    messagesPerSecond: Math.round((messages / best) * 1000),
    peakRssMiB: peakRssMiB(),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

async function main(): Promise<void> {
  const results: CaseResult[] = [];
  for (const name of Object.keys(cases)) {
    const r = runCaseInChild(import.meta.url, name);
    console.error(`  ${name}: ${fmt(r.messagesPerSecond)} msg/s, peak RSS ${r.peakRssMiB} MiB`);
    results.push(r);
  }
  const rate = (name: string): number => results.find((r) => r.name === name)?.messagesPerSecond ?? Number.NaN;
  const rss = (name: string): number => results.find((r) => r.name === name)?.peakRssMiB ?? Number.NaN;
  const round = (x: number): number => Math.round(x * 100) / 100;
  const ratios = {
    'batch path / hand-written batch channel (target >= 0.8)': round(
      rate('queue batch path') / rate('hand-written batch channel (arrays of 256)'),
    ),
    'batch path / fastq (target >= 6)': round(rate('queue batch path') / rate('fastq (callback API, concurrency 8)')),
    'one-at-a-time path / promise-per-message channel (target >= 0.8)': round(
      rate('queue one-at-a-time path') / rate('hand-written channel, one promise per message'),
    ),
    'one-at-a-time path / fastq': round(rate('queue one-at-a-time path') / rate('fastq (callback API, concurrency 8)')),
    'one-at-a-time path / p-limit': round(rate('queue one-at-a-time path') / rate('p-limit (concurrency 8)')),
    'one-at-a-time path / p-queue': round(rate('queue one-at-a-time path') / rate('p-queue (concurrency 8)')),
    'peak RSS MiB, 10M messages through capacity 1,024 (target <= 100)': rss(
      'queue, 10,000,000 messages through capacity 1,024 (memory)',
    ),
  };
  const report = {
    suite: 'core',
    machine: machineLine(),
    node: process.version,
    date: new Date().toISOString(),
    results,
    ratios,
  };
  writeFileSync(new URL('./results/core.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\ncore — ${report.machine}, node ${report.node}`);
  console.log(
    table([
      ['case', 'msg/s', 'peak RSS MiB'],
      ...results.map((r) => [r.name, fmt(r.messagesPerSecond), String(r.peakRssMiB)]),
    ]),
  );
  console.log(`\n${table([['ratio', 'value'], ...Object.entries(ratios).map(([k, v]) => [k, String(v)])])}`);
}

const at = process.argv.indexOf('--case');
if (at !== -1) await child(process.argv[at + 1] as string);
else await main();
