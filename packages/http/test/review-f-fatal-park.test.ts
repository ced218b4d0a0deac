// Review F: a park log that stops for good (a write fails other than by a full disk: @q/log's LogSyncError,
// "reopen the log"; here EFBIG under `ulimit -f`, a real fault of the OS) also ends the park run's reader.
// A parked key whose stored records the park run had not read yet then never leaves ParkedKeys: each later
// record of it is queued for a round, every round fails, and the failed ones are queued again (its key
// "has others stored") instead of going back to the engine. They fill the live window, and the live run
// stops reading for every key and endpoint, while stats().state stays 'running'. A failed append of
// keyless records hands them back to the engine (docs/http.md: "a failed append hands it back to the
// engine"), and the live log goes on; the records of a parked key are never handed back while the key
// counts stored records, and with the park run's reader gone it counts them for good.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { tempDir } from './deliverer-target.js';
import { startSwitchTarget } from './review-f-support.js';

const WORKER = fileURLToPath(new URL('./review-f-fatal-park-worker.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface WorkerStats {
  state: string;
  cursor: number;
  parked: number;
  parkedBacklog: number;
  unfinished: number;
  delivered: number;
  errors: string[];
}

/** Starts the worker under `ulimit -f <kib>` (files it writes may not grow past it). */
function startWorker(kib: number, args: string[], onStats: (s: WorkerStats) => void): Promise<ChildProcess> {
  const child = spawn(
    'sh',
    [
      '-c',
      `ulimit -f ${kib} && exec "$0" "$@"`,
      process.execPath,
      '--conditions=@q/source',
      '--import',
      'tsx',
      WORKER,
      ...args,
    ],
    { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  child.on('message', (m) => {
    if (typeof m === 'object' && m !== null) onStats(m as WorkerStats);
  });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`worker exited before it was ready: ${code}`)));
  });
}

/** Runs the scenario; true when the keyless record to /ok was delivered within 8 s of /k answering again. */
async function scenario(keyed: boolean): Promise<{ delivered: boolean; stats: WorkerStats }> {
  const tmp = await tempDir('q-http-review-f-fatal-');
  cleanups.push(() => tmp.remove());
  const target = await startSwitchTarget();
  cleanups.push(() => target.close());
  target.status.set('/k', 503);
  const [logDir, deadLetterDir, parkDir] = ['log', 'dead-letter', 'parked'].map((d) => join(tmp.dir, d)) as [
    string,
    string,
    string,
  ];
  // Eight small records to /k (key k when keyed: its line is parked first, then the ones read behind it),
  // then twelve of 30 KB whose park copies pass the worker's 64 KiB file-size limit. Last, a keyless
  // record to /ok.
  const log = await openLog({ dir: logDir });
  await log.appendBatch([
    ...Array.from({ length: 20 }, (_, n) => ({
      body: n < 8 ? `small ${n}` : `big ${n} ${'x'.repeat(30_000)}`,
      headers: { 'q-url': target.url('/k'), ...(keyed ? { 'q-key': 'k' } : {}) },
    })),
    { body: 'keyless', headers: { 'q-url': target.url('/ok') } },
  ]);
  await log.close();
  let stats: WorkerStats | undefined;
  const child = await startWorker(64, [logDir, deadLetterDir, parkDir], (s) => {
    stats = s;
  });
  cleanups.push(async () => {
    child.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
  });
  await until(
    () => stats?.errors.some((e) => e.includes('reopen the log')) === true,
    15_000,
    'the park log stopped (EFBIG)',
  );
  // The endpoint /k is back: nothing but the stopped park log holds anything back now.
  target.status.set('/k', 200);
  const okDelivered = async (): Promise<boolean> => target.received.some((r) => r.path === '/ok' && r.status === 200);
  let delivered = true;
  try {
    await until(okDelivered, 8_000, 'the keyless record to /ok delivered');
  } catch {
    delivered = false;
  }
  return { delivered, stats: stats as WorkerStats };
}

describe('review F: a park log that stops for good', () => {
  it('control: keyless records whose park append fails go back to the engine, and the live log goes on', async () => {
    const { delivered, stats: s } = await scenario(false);
    expect(delivered, `worker: state ${s.state}, cursor ${s.cursor}, unfinished ${s.unfinished}`).toBe(true);
  }, 60_000);

  it('defect "a stopped park log stalls the live log": records of a key parked in it are queued again forever and fill the window, while the state says running', async () => {
    // Observed before: state running, cursor 8, unfinished 4, parked 8, parkedBacklog 3, and nothing more.
    // The key's later records cannot go to the engine before its parked ones (the park log's reader is gone
    // until a restart), so the deliverer stops delivery and says so, rather than stalling as 'running'.
    const { stats: s } = await scenario(true);
    expect(s.errors.some((e) => e.startsWith('ParkLogStoppedError'))).toBe(true);
    expect(s.state, `worker: cursor ${s.cursor}, unfinished ${s.unfinished}, parkedBacklog ${s.parkedBacklog}`).toBe(
      'stopped',
    );
  }, 60_000);
});
