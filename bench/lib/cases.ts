import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** One measured case: messages per second (best of the runs) and the process's peak RSS. */
export interface CaseResult {
  name: string;
  messagesPerSecond: number;
  peakRssMiB: number;
}

/**
 * Runs a case in a fresh Node process so each peak RSS belongs to that case alone. The child prints
 * one JSON line.
 */
export function runCaseInChild(moduleUrl: string, name: string, extraArgs: string[] = []): CaseResult {
  const file = fileURLToPath(moduleUrl);
  const child = spawnSync(process.execPath, [...process.execArgv, file, '--case', name, ...extraArgs], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 10 * 60_000,
  });
  if (child.status !== 0) throw new Error(`case ${name} failed with status ${child.status}: ${child.stdout}`);
  const line = child.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as CaseResult;
}

/** Formats a table of results with columns aligned. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows
    .map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  '))
    .join('\n');
}

export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
