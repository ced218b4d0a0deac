import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLog } from '@q/log';
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

/**
 * A power loss after which the size of a log's last segment reached the disk but the pages of its last
 * 5 records (of 20, 40-byte bodies) did not: zeros from record 15 on. Reopens the log with `sync: 'none'`
 * and tells what it found and what it logged.
 */
export async function reopenAfterLostPages(
  dir: string,
): Promise<{ nextSeq: number; warn: unknown[]; info: unknown[] }> {
  const path = lastSegment(dir);
  const file = readFileSync(path);
  file.fill(0, 16 + 15 * 70);
  writeFileSync(path, file);
  const said = { warn: [] as unknown[], info: [] as unknown[] };
  const again = await openLog({
    dir,
    sync: 'none',
    logger: { ...silent, warn: (f: unknown) => said.warn.push(f), info: (f: unknown) => said.info.push(f) },
  });
  const nextSeq = again.nextSeq;
  await again.close();
  return { nextSeq, ...said };
}
