import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh temporary directory for one log, removed after the test. */
export function tempLogDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'q-log-test-'));
  made.push(dir);
  return dir;
}

/** A body derived from its index, so content is checked, not just counts. */
export function bodyOf(i: number, size = 40): Buffer {
  const b = Buffer.alloc(size);
  b.write(`record-${i}-`.repeat(Math.ceil(size / 8)).slice(0, size));
  return b;
}

export const silent = { error() {}, warn() {}, info() {}, debug() {} };

/** The path of a log's last segment file. */
export function lastSegment(dir: string): string {
  const segs = readdirSync(join(dir, 'segments'))
    .filter((f) => f.endsWith('.seg'))
    .sort();
  return join(dir, 'segments', segs.at(-1) as string);
}

/** Copies a log directory as a crash leaves it (the writer still running, its lock left behind). */
export function crashCopy(dir: string): string {
  const copy = tempLogDir();
  cpSync(dir, copy, { recursive: true, filter: (src) => !src.endsWith('LOCK') });
  return copy;
}
