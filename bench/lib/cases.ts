import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** One measured case: messages per second (best of the runs) and the process's peak RSS. */
export interface CaseResult {
  name: string;
  messagesPerSecond: number;
  peakRssMiB: number;
}

/**
 * Runs cases in a fresh Node process (`<module> --case a|b`), so a peak RSS belongs to those cases
 * alone. The child prints one JSON line per case.
 */
export function runCasesInChild(moduleUrl: string, names: readonly string[]): CaseResult[] {
  const file = fileURLToPath(moduleUrl);
  // A group of cases runs for up to minutes with nothing else to show: say when it starts and ends.
  const started = performance.now();
  console.error(`  started: ${names.join(', ')}`);
  const child = spawnSync(process.execPath, [...process.execArgv, file, '--case', names.join('|')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 10 * 60_000,
  });
  console.error(`  ended after ${((performance.now() - started) / 1000).toFixed(1)} s: ${names.join(', ')}`);
  if (child.status !== 0) throw new Error(`cases ${names.join(', ')} failed with status ${child.status}`);
  return child.stdout
    .trim()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as CaseResult);
}

/** Formats a table of results with columns aligned. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows
    .map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  '))
    .join('\n');
}

export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
