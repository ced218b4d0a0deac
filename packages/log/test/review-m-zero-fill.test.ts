// Adversarial review of the zero-fill change (preallocateBytes): recovery classification and the CLI.
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LogCorruptionError, openLog } from '@q/log';
import { describe, expect, it } from 'vitest';
import { bodyOf, crashCopy, lastSegment, reopenAfterLostPages, silent, tempLogDir } from './support/log-dir.js';

/** A crash copy of a zero-filled log whose last write (a batch of 40) lost one disk block: a torn last write. */
async function tornCopy(): Promise<string> {
  const dir = tempLogDir();
  const log = await openLog({ dir, sync: 'always', logger: silent, preallocateBytes: 64 * 1024 });
  for (let i = 0; i < 20; i++) await log.append(bodyOf(i));
  await log.appendBatch(Array.from({ length: 40 }, (_, k) => bodyOf(20 + k, 100)));
  const copy = crashCopy(dir);
  await log.close();
  const path = lastSegment(copy);
  const torn = readFileSync(path);
  const hole = Math.ceil((16 + 20 * 70 + 600) / 512) * 512;
  torn.fill(0, hole, hole + 512);
  writeFileSync(path, torn);
  return copy;
}

const bin = fileURLToPath(new URL('../bin/q-log.js', import.meta.url));
const cli = (args: string[]) => {
  const r = spawnSync(process.execPath, ['--conditions=@q/source', bin, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};
async function waitForFill(dir: string, dataEnd: number) {
  for (let t = 0; statSync(lastSegment(dir)).size <= dataEnd && t < 400; t++)
    await new Promise((r) => setTimeout(r, 5));
  expect(statSync(lastSegment(dir)).size).toBeGreaterThan(dataEnd);
}

describe('review-m: recovery after the zero-fill change', () => {
  for (const options of [
    { sync: 'always' as const },
    { sync: 'always' as const, preallocateBytes: 0 },
    { sync: 'none' as const },
  ])
    it(`damage before a last record with an empty body is damage, not a torn tail (${JSON.stringify(options)})`, async () => {
      const dir = tempLogDir();
      const log = await openLog({ dir, logger: silent, ...options });
      for (let i = 0; i < 10; i++) await log.append(bodyOf(i));
      await log.append(''); // frame ends with its u32 body length: 4 zero bytes
      await log.close();
      const path = lastSegment(dir);
      const file = readFileSync(path);
      const rec9 = 16 + 9 * 70;
      file[rec9 + 40] = (file[rec9 + 40] as number) ^ 0x01; // one flipped bit in acknowledged record 9
      writeFileSync(path, file);
      // Record 10 is whole and valid after the damaged record 9: docs/log.md says LogCorruptionError.
      await expect(openLog({ dir, logger: silent, ...options })).rejects.toBeInstanceOf(LogCorruptionError);
    });

  it('a zeroed 512-byte block in acknowledged records, many groups before the end, is damage (crash)', async () => {
    const live = tempLogDir();
    const log = await openLog({ dir: live, sync: 'always', logger: silent });
    // 200 appends, each acknowledged alone: the last write was one 130-byte record.
    for (let i = 0; i < 200; i++) await log.append(bodyOf(i, 100));
    const dir = crashCopy(live);
    await log.close();
    const path = lastSegment(dir);
    const file = readFileSync(path);
    expect(file.length).toBeGreaterThanOrEqual(16 + 200 * 130);
    file.fill(0, 6656, 6656 + 512); // ~records 51..55, 19 KB before the end
    writeFileSync(path, file);
    const warn: unknown[] = [];
    const opening = openLog({ dir, logger: { ...silent, warn: (f: unknown) => warn.push(f) } });
    await expect(opening).rejects.toBeInstanceOf(LogCorruptionError);
    const opened = await opening.catch(() => undefined);
    if (opened) {
      console.log('opened: nextSeq', opened.nextSeq, 'report', opened.recovery, 'warn', warn);
      await opened.close();
    }
  });

  it('a torn last write (zero block, then pieces of it) is a torn tail whatever the sync level of the reopen', async () => {
    const copy = await tornCopy();
    // The writer zero-filled; this process opens with sync 'interval' (preallocateBytes resolves to 0).
    const again = await openLog({ dir: copy, logger: silent, sync: { intervalMs: 50 } });
    expect(again.nextSeq).toBeGreaterThan(20);
    await again.close();
  });

  it('a power loss that left zeros where acknowledged sync:none records were is a warning, not the quiet zero-fill info', async () => {
    const dir = tempLogDir();
    const log = await openLog({ dir, sync: 'none', logger: silent });
    for (let i = 0; i < 20; i++) await log.append(bodyOf(i));
    await log.close();
    const said = await reopenAfterLostPages(dir);
    expect(said.nextSeq).toBe(15);
    expect(said.warn).toHaveLength(1);
  });
});

describe('review-m: q-log on a zero-filled log', () => {
  it('verify agrees with openLog on a torn last write of a zero-filled segment (a note, exit 0)', async () => {
    const copy = await tornCopy();
    const v = cli(['verify', copy]);
    // openLog (sync 'always') opens this as a torn tail; verify's 'error' level means "openLog refuses".
    const opened = await openLog({ dir: crashCopy(copy), logger: silent });
    expect(opened.nextSeq).toBeGreaterThan(20);
    await opened.close();
    expect(v.stdout).not.toContain('CORRUPT');
    expect(v.status).toBe(0);
  });

  it('tail of a live sync-always log prints every record and exits 0 (the zero tail is not a bad record)', async () => {
    const dir = tempLogDir();
    const log = await openLog({ dir, sync: 'always', logger: silent });
    for (let i = 0; i < 20; i++) await log.append(bodyOf(i));
    await waitForFill(dir, 16 + 20 * 70);
    const r = cli(['tail', dir]);
    await log.close();
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toHaveLength(20);
    expect(r.status).toBe(0);
  });

  it('tail of a crashed log whose tail is zeros (recovery cuts them quietly) exits 0', async () => {
    const dir = tempLogDir();
    const log = await openLog({ dir, sync: 'always', logger: silent });
    for (let i = 0; i < 20; i++) await log.append(bodyOf(i));
    await waitForFill(dir, 16 + 20 * 70);
    const copy = crashCopy(dir);
    await log.close();
    const r = cli(['tail', copy]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
