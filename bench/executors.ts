/**
 * `pnpm bench executors`: 1,000,000 adds of 100-byte tasks into ChunkExecutor (1 MiB chunks) and
 * BulkExecutor (1,000 tasks) with a no-op execute, against the floor of pushing into a plain array
 * and slicing it every 1,000 items; then the same with confirms. All cases alternate in one process
 * (best of repeated runs counts). Writes bench/results/executors.json.
 */
import { writeFileSync } from 'node:fs';
import { BulkExecutor, ChunkExecutor } from '@q/core';
import { type CaseResult, fmt, table } from './lib/cases.js';
import { machineLine, peakRssMiB } from './lib/machine.js';

const N = 1_000_000;
const TASK = 'x'.repeat(100);
const BYTES = 100;
/**
 * Confirms are awaited in windows, as a service awaiting its in-flight writes would: add a window,
 * flush the partial batch at its end (or it would wait for the interval), await the window.
 */
const WINDOW = 65_536;
const noop = (_tasks: string[]): void => {};

type Case = () => Promise<number>;

/** N confirmed adds in windows of WINDOW: add, flush the partial batch, await the window. */
async function confirmedAdds<E extends { flush(): Promise<boolean>; close(): Promise<void> }>(
  ex: E,
  add: (ex: E) => Promise<void>,
): Promise<number> {
  const t0 = performance.now();
  let window: Promise<void>[] = [];
  for (let i = 0; i < N; i++) {
    window.push(add(ex));
    if (window.length === WINDOW || i === N - 1) {
      await ex.flush();
      await Promise.all(window);
      window = [];
    }
  }
  await ex.close();
  return performance.now() - t0;
}

const cases: Record<string, Case> = {
  'floor: array push, slice every 1,000': async () => {
    const t0 = performance.now();
    let buffer: string[] = [];
    let batches = 0;
    for (let i = 0; i < N; i++) {
      buffer.push(TASK);
      if (buffer.length === 1000) {
        noop(buffer.slice());
        buffer = [];
        batches++;
      }
    }
    if (buffer.length > 0) noop(buffer);
    if (batches !== N / 1000) throw new Error('lost batches');
    return performance.now() - t0;
  },
  'ChunkExecutor add (1 MiB chunks)': async () => {
    const ex = new ChunkExecutor<string>(noop, { chunkBytes: 1024 * 1024 });
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const accepted = ex.add(TASK, BYTES);
      if (accepted !== undefined) await accepted;
    }
    await ex.close();
    return performance.now() - t0;
  },
  'BulkExecutor add (1,000 tasks)': async () => {
    const ex = new BulkExecutor<string>(noop, { bulkTasks: 1000 });
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const accepted = ex.add(TASK);
      if (accepted !== undefined) await accepted;
    }
    await ex.close();
    return performance.now() - t0;
  },
  'ChunkExecutor addAndConfirm (1 MiB chunks)': () =>
    confirmedAdds(new ChunkExecutor<string>(noop, { chunkBytes: 1024 * 1024 }), (ex) => ex.addAndConfirm(TASK, BYTES)),
  'BulkExecutor addAndConfirm (1,000 tasks)': () =>
    confirmedAdds(new BulkExecutor<string>(noop, { bulkTasks: 1000 }), (ex) => ex.addAndConfirm(TASK)),
};

async function main(): Promise<void> {
  const names = Object.keys(cases);
  const best = new Map<string, number>(names.map((n) => [n, Number.POSITIVE_INFINITY]));
  const budget = performance.now() + 2000 * names.length;
  for (let i = 0; i < 15 && (i === 0 || performance.now() < budget); i++) {
    for (const name of names) best.set(name, Math.min(best.get(name) as number, await (cases[name] as Case)()));
  }
  const rss = peakRssMiB();
  const results: CaseResult[] = names.map((name) => ({
    name,
    messagesPerSecond: Math.round((N / (best.get(name) as number)) * 1000),
    peakRssMiB: rss,
  }));
  const rate = (name: string): number => results.find((r) => r.name === name)?.messagesPerSecond ?? Number.NaN;
  const floor = rate('floor: array push, slice every 1,000');
  const round = (x: number): number => Math.round(x * 100) / 100;
  const ratios = {
    'ChunkExecutor add / floor (target >= 0.3)': round(rate('ChunkExecutor add (1 MiB chunks)') / floor),
    'BulkExecutor add / floor (target >= 0.3)': round(rate('BulkExecutor add (1,000 tasks)') / floor),
    'ChunkExecutor adds/s (target >= 5,000,000)': rate('ChunkExecutor add (1 MiB chunks)'),
    'BulkExecutor adds/s (target >= 5,000,000)': rate('BulkExecutor add (1,000 tasks)'),
    'ChunkExecutor confirmed adds/s (target >= 1,000,000)': rate('ChunkExecutor addAndConfirm (1 MiB chunks)'),
    'BulkExecutor confirmed adds/s (target >= 1,000,000)': rate('BulkExecutor addAndConfirm (1,000 tasks)'),
  };
  const report = {
    suite: 'executors',
    machine: machineLine(),
    node: process.version,
    date: new Date().toISOString(),
    results,
    ratios,
  };
  writeFileSync(new URL('./results/executors.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nexecutors — ${report.machine}, node ${report.node}`);
  console.log(table([['case', 'adds/s'], ...results.map((r) => [r.name, fmt(r.messagesPerSecond)])]));
  console.log(
    `\n${table([['ratio', 'value'], ...Object.entries(ratios).map(([k, v]) => [k, v >= 1000 ? fmt(v) : String(v)])])}`,
  );
  console.log(`peak RSS of the run: ${rss} MiB`);
}

await main();
