import { mkdtempSync, rmSync } from 'node:fs';
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
