import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Queue, silentLogger } from '@q/core';
import { describe, expect, it } from 'vitest';
import { delay, until } from './helpers.js';

// Handler timeouts (`timeoutMs`): what an attempt's timeout costs, and what a timed-out call that
// keeps running may still hold.

const root = fileURLToPath(new URL('../../../', import.meta.url));
const heapFixture = fileURLToPath(new URL('./fixtures/timeout-heap.ts', import.meta.url));

/** Runs fixtures/timeout-heap.ts in a child with --expose-gc; returns how much its heap grew. */
function heapGrowth(timeoutMs: number, count: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--conditions=@q/source', '--import', 'tsx', heapFixture, String(timeoutMs), String(count)],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`timeout-heap.ts exited with ${code}: ${out}`));
      else resolve((JSON.parse(out.trim()) as { grownBytes: number }).grownBytes);
    });
  });
}

describe('handler timeouts', () => {
  it('cost no memory per message: the heap after 200,000 timed messages is that of untimed ones', async () => {
    // Node 20 never prunes an AbortSignal's list of AbortSignal.any() dependants: a signal combined
    // with a long-lived one per attempt left one WeakRef per message (about 20 MB per 300,000).
    const count = 200_000;
    const [untimed, timed] = await Promise.all([heapGrowth(0, count), heapGrowth(5000, count)]);
    const mb = (bytes: number): number => Math.round(bytes / 1e5) / 10;
    expect(mb(timed - untimed)).toBeLessThan(4);
  }, 60_000);

  it('a keyed call that timed out keeps its key until it really ended: its retry and the next messages wait', async () => {
    // m1's first attempt ignores its signal and runs 200 ms, far past its 20 ms timeout.
    const calls: { id: string; start: number; end: number }[] = [];
    const q = new Queue<number>(
      (() => {
        let given = false;
        return () => ({
          async produce(signal: AbortSignal) {
            if (given) {
              await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
              return undefined;
            }
            given = true;
            return [1, 2, 3];
          },
        });
      })(),
      () => ({
        async consume(m, { attempt }) {
          const call = { id: `m${m}(a${attempt})`, start: performance.now(), end: Number.NaN };
          calls.push(call);
          await delay(m === 1 && attempt === 1 ? 200 : 5);
          call.end = performance.now();
        },
      }),
      {
        producers: 1,
        consumers: 3,
        keyOf: () => 'the-key',
        timeoutMs: 20,
        retry: { attempts: 2, minDelayMs: 1, maxDelayMs: 1 },
        logger: silentLogger,
        statsIntervalMs: 0,
      },
    );
    const done = q.start();
    await until(() => q.stats().consumed === 3, 3000, 'the three messages consumed');
    await q.stop();
    await done;
    // Each call saw the key free: it started after every earlier call had ended.
    const overlaps: string[] = [];
    for (const [i, call] of calls.entries()) {
      for (const earlier of calls.slice(0, i)) {
        if (!(earlier.end <= call.start)) overlaps.push(`${call.id} started while ${earlier.id} ran`);
      }
    }
    expect(overlaps).toEqual([]);
    expect(calls.map((c) => c.id)).toEqual(['m1(a1)', 'm1(a2)', 'm2(a1)', 'm3(a1)']);
  });
});
