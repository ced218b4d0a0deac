import { join } from 'node:path';
import { openLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryRun, type ParkedItem } from '../src/deliverer/delivery-run.js';
import { recordToItem } from '../src/deliverer/record-item.js';
import { DeliveryEngine } from '../src/delivery/delivery-engine.js';
import type { DeliveryItem, DeliveryResult } from '../src/delivery/types.js';
import { tempDir } from './deliverer-target.js';
import { startTarget, tempDeadLetters, until } from './engine-target.js';

const quiet = { error() {}, warn() {}, info() {}, debug() {} };
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(total: number) {
  const tmp = await tempDir('q-http-review-c-hook-');
  cleanups.push(() => tmp.remove());
  const log = await openLog({ dir: join(tmp.dir, 'log') });
  cleanups.push(() => log.close());
  let up = false;
  const target = await startTarget(() => (up ? 200 : 503));
  cleanups.push(() => target.close());
  const dl = await tempDeadLetters();
  cleanups.push(() => dl.cleanup());
  const engine = new DeliveryEngine({
    deadLetters: dl.deadLetters,
    timeoutMs: 1_000,
    retry: { maxAttempts: 1_000_000, minDelayMs: 10, maxDelayMs: 40, factor: 2, maxAgeMs: 3_600_000 },
    circuit: { failureThreshold: 1_000_000, openMs: 1_000 },
    logger: quiet,
  });
  cleanups.push(() => engine.close({ timeoutMs: 1_000 }));
  await log.appendBatch(Array.from({ length: total }, (_, seq) => ({ body: `{"seq":${seq}}` })));
  const cursor = await log.cursor('main');
  const finished = new Map<number, number>();
  return {
    log,
    engine,
    cursor,
    finished,
    setUp: () => {
      up = true;
    },
    parts: {
      log,
      cursor,
      engine,
      from: 0,
      toItem: (r: Parameters<typeof recordToItem>[0]) => recordToItem(r, { url: target.url, idPrefix: 'q' }),
      maxUnfinished: 8,
      commitIntervalMs: 5,
      finished: (item: DeliveryItem, _result: DeliveryResult) =>
        finished.set(item.seq as number, (finished.get(item.seq as number) ?? 0) + 1),
      refuse: () => Promise.reject(new Error('not expected')),
      error: () => undefined,
    },
  };
}

describe('review C: park rounds against a real engine and log (a park hook)', () => {
  it('guard (not a defect): failed appends hand items back; every record ends exactly once, delivered or parked', async () => {
    const total = 60;
    const s = await setup(total);
    const parked = new Map<number, number>();
    let failures = 0;
    let cursorPastWithdrawn = false;
    const run = new DeliveryRun({
      ...s.parts,
      park: async (batch: readonly ParkedItem[]) => {
        const seqs = batch.map((p) => p.item.seq as number);
        // The append is not durable yet: nothing committed may have passed the withdrawn records.
        if (s.cursor.position > Math.min(...seqs) || run.lowest > Math.min(...seqs)) cursorPastWithdrawn = true;
        await new Promise((r) => setTimeout(r, 5));
        if (failures++ < 4) throw new Error('append failed (test)');
        for (const seq of seqs) parked.set(seq, (parked.get(seq) ?? 0) + 1);
        // Each withdrawn item carries its attempts and retry time.
        for (const p of batch) expect(p.withdrawn.attempts).toBeGreaterThan(0);
      },
    });
    run.start();
    cleanups.push(async () => run.stop());
    await until(() => parked.size >= 10, 20_000);
    s.setUp();
    await until(() => s.finished.size + parked.size === total, 20_000);
    run.stop();
    await run.drained();
    await run.commitNow();
    expect(cursorPastWithdrawn).toBe(false);
    for (let seq = 0; seq < total; seq++) {
      const n = (s.finished.get(seq) ?? 0) + (parked.get(seq) ?? 0);
      expect(n, `seq ${seq}`).toBe(1);
    }
    expect(s.cursor.position).toBe(total);
  }, 40_000);

  it('guard (not a defect), close during a park round: what was withdrawn and not stored stays unfinished, the cursor stays below it', async () => {
    const total = 40;
    const s = await setup(total);
    let release: ((ok: boolean) => void) | undefined;
    let held: number[] = [];
    const run = new DeliveryRun({
      ...s.parts,
      park: async (batch: readonly ParkedItem[]) => {
        held = batch.map((p) => p.item.seq as number);
        const ok = await new Promise<boolean>((r) => {
          release = r;
        });
        if (!ok) throw new Error('park log closed (test)');
      },
    });
    run.start();
    await until(() => release !== undefined, 20_000);
    run.stop();
    await s.engine.close({ timeoutMs: 1_000 });
    await run.commitNow();
    const lowestHeld = Math.min(...held);
    expect(s.cursor.position).toBeLessThanOrEqual(lowestHeld);
    release?.(false);
    await run.drained();
    await run.commitNow();
    expect(s.cursor.position).toBeLessThanOrEqual(lowestHeld);
    for (const seq of held) expect(s.finished.has(seq)).toBe(false);
  }, 40_000);

  it('defect "a stopped run hands work to a shared engine": a park append failing after stop leaves the items unfinished instead of handing them back', async () => {
    const total = 40;
    const s = await setup(total);
    let release: ((ok: boolean) => void) | undefined;
    let held: number[] = [];
    const run = new DeliveryRun({
      ...s.parts,
      park: async (batch: readonly ParkedItem[]) => {
        held = batch.map((p) => p.item.seq as number);
        const ok = await new Promise<boolean>((r) => {
          release = r;
        });
        if (!ok) throw new Error('park log closed (test)');
      },
    });
    run.start();
    await until(() => release !== undefined, 20_000);
    run.stop();
    // Open items only leave the engine (an attempt that fails moves from in flight to waiting, so count both).
    const open = () => s.engine.stats().inFlight + s.engine.stats().waiting;
    const openBefore = open();
    release?.(false);
    await new Promise((r) => setTimeout(r, 20));
    // The engine (shared: still open) got nothing new from a stopped run.
    expect(open()).toBeLessThanOrEqual(openBefore);
    await run.commitNow();
    expect(s.cursor.position).toBeLessThanOrEqual(Math.min(...held));
    for (const seq of held) expect(s.finished.has(seq)).toBe(false);
  }, 40_000);
});
