/**
 * `pnpm bench [suite...]`: runs the named benchmark suites (all when none is named), each of which
 * prints its table and writes bench/results/<suite>.json; then draws bench/results/<suite>.svg from
 * it. A suite runs for minutes: what it prints on stderr (a line per case or round) comes through
 * with the time since the suite started, and a silent suite is reported every 30 s.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { writeSuiteChart } from './lib/suite-chart.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const NOT_SUITES = new Set(['run.ts', 'charts.ts']);
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !NOT_SUITES.has(f))
  .map((f) => f.slice(0, -3));
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const suites = wanted.length > 0 ? wanted : available;
const QUIET_MS = 30_000;

const clock = (ms: number): string => {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

/** Runs one suite in its own process; its stdout (the tables) passes through untouched. */
function runSuite(suite: string): Promise<number> {
  const started = performance.now();
  const since = (): string => clock(performance.now() - started);
  process.stderr.write(`[${suite} 0:00] started\n`);
  const child = spawn(process.execPath, [...process.execArgv, `${here}${suite}.ts`], {
    stdio: ['inherit', 'inherit', 'pipe'],
  });
  let lastLine = performance.now();
  createInterface({ input: child.stderr }).on('line', (line) => {
    lastLine = performance.now();
    process.stderr.write(`[${suite} ${since()}] ${line}\n`);
  });
  const quiet = setInterval(() => {
    if (performance.now() - lastLine < QUIET_MS) return;
    lastLine = performance.now();
    process.stderr.write(`[${suite} ${since()}] still running\n`);
  }, 1000);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearInterval(quiet);
      process.stderr.write(`[${suite} ${since()}] ${code === 0 ? 'done' : `failed (${signal ?? `exit ${code}`})`}\n`);
      resolve(code ?? 1);
    });
  });
}

for (const suite of suites) {
  if (!available.includes(suite)) {
    console.error(`unknown suite "${suite}"; available: ${available.join(', ')}`);
    process.exit(2);
  }
}
for (const suite of suites) {
  const status = await runSuite(suite);
  if (status !== 0) process.exit(status);
  console.error(`[${suite}] chart: ${writeSuiteChart(`${here}results/`, suite)}`);
}
