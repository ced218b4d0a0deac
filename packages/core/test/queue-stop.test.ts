import { type Outcome, type Producer, Queue, silentLogger } from '@q/core';
import { describe, expect, it } from 'vitest';
import { delay } from './helpers.js';

/** A deterministic pseudo-random generator, so a failing seed can be replayed. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Run {
  produced: number;
  consumed: number;
  nacked: number;
  consumedTwice: number;
}

/**
 * One queue run stopped at a random point. Checks, per message: it was produced once, and settled
 * exactly once, as consumed (its handler ran to the end exactly once) or as nacked.
 */
async function runOnce(seed: number): Promise<Run> {
  const random = mulberry32(seed);
  const batch = random() < 0.5 ? 1 : 1 + Math.floor(random() * 20);
  const capacity = [0, 1, 4, 64][Math.floor(random() * 4)] as number;
  const producers = 1 + Math.floor(random() * 3);
  const consumers = 1 + Math.floor(random() * 4);
  const useBatchConsumer = random() < 0.3;
  const stopAfter = Math.floor(random() * 300);
  const stopTimeoutMs = random() < 0.4 ? 0 : random() < 0.5 ? 1 : 50;
  const slow = random() < 0.3;
  const keyed = random() < 0.3;
  // Keys that change every message (runs of one) or every few messages (runs taken whole, cut at
  // batchSize), so a stop also lands in the middle of a run held by a consumer.
  const keyOf = random() < 0.5 ? (m: number) => m % 5 : (m: number) => Math.floor(m / 4) % 3;
  const batchSize = 1 + Math.floor(random() * 6);

  let next = 0;
  let stopping: Promise<void> | undefined;
  const finished = new Map<number, number>();
  const settled = new Map<number, Outcome[]>();
  const work = async (m: number): Promise<void> => {
    if (slow && random() < 0.2) await delay(random() < 0.5 ? 0 : 2);
    else if (random() < 0.5) await Promise.resolve();
    finished.set(m, (finished.get(m) ?? 0) + 1);
    // Stopping from inside a handler puts the stop at an exact point of the stream, not at the next
    // macrotask turn (a fast in-memory pipeline moves thousands of messages per turn).
    if (finished.size === stopAfter) stopping = q.stop({ timeoutMs: stopTimeoutMs });
  };
  const producer: Producer<number> = {
    produce(signal) {
      if (signal.aborted && random() < 0.5) return undefined;
      if (batch === 1) return next++;
      const out: number[] = [];
      for (let i = 0; i < batch; i++) out.push(next++);
      return random() < 0.5 ? out : Promise.resolve(out);
    },
    settle(m, outcome) {
      const list = settled.get(m) ?? [];
      list.push(outcome);
      settled.set(m, list);
    },
  };
  const q = new Queue<number>(
    () => producer,
    () => ({
      consume: work,
      ...(useBatchConsumer
        ? { consumeBatch: async (ms: readonly number[]) => void (await Promise.all(ms.map(work))) }
        : {}),
    }),
    {
      producers,
      consumers,
      capacity,
      logger: silentLogger,
      statsIntervalMs: 0,
      ...(keyed ? { keyOf, batchSize } : {}),
    },
  );
  const done = q.start();
  if (stopAfter === 0) stopping = q.stop({ timeoutMs: stopTimeoutMs });
  await done;
  await stopping;

  let consumed = 0;
  let nacked = 0;
  let consumedTwice = 0;
  for (let m = 0; m < next; m++) {
    const outcomes = settled.get(m);
    if (outcomes === undefined || outcomes.length !== 1) {
      throw new Error(`seed ${seed}: message ${m} settled ${outcomes?.length ?? 0} times`);
    }
    const [outcome] = outcomes as [Outcome];
    if (outcome.type === 'consumed') {
      consumed++;
      if (finished.get(m) !== 1) consumedTwice++;
    } else if (outcome.type === 'nacked') nacked++;
    else throw new Error(`seed ${seed}: message ${m} settled as ${outcome.type}`);
  }
  const stats = q.stats();
  if (stats.produced !== next || stats.consumed !== consumed || stats.nacked !== nacked) {
    throw new Error(`seed ${seed}: stats ${JSON.stringify(stats)} disagree with ${next}/${consumed}/${nacked}`);
  }
  return { produced: next, consumed, nacked, consumedTwice };
}

describe('stop at random points', () => {
  it('1,000 runs: every produced message is settled exactly once, consumed once or nacked (30% ordered by key)', async () => {
    let produced = 0;
    let consumed = 0;
    let nacked = 0;
    let consumedTwice = 0;
    for (let seed = 1; seed <= 1000; seed++) {
      const r = await runOnce(seed);
      produced += r.produced;
      consumed += r.consumed;
      nacked += r.nacked;
      consumedTwice += r.consumedTwice;
    }
    expect(consumedTwice).toBe(0);
    expect(consumed + nacked).toBe(produced);
    // Both paths must have been exercised for the check to mean anything.
    expect(consumed).toBeGreaterThan(10_000);
    expect(nacked).toBeGreaterThan(100);
  }, 120_000);

  it('a hanging handler is nacked at the stop deadline and stop() resolves', async () => {
    const settled: [number, Outcome][] = [];
    let i = 0;
    const q = new Queue<number>(
      () => ({
        produce: () => (i < 3 ? i++ : undefined),
        settle: (m, o) => void settled.push([m, o]),
      }),
      () => ({ consume: () => new Promise<void>(() => {}) }),
      { producers: 1, consumers: 1, capacity: 1 },
    );
    const done = q.start();
    await delay(20);
    const t0 = performance.now();
    await q.stop({ timeoutMs: 50 });
    await done;
    // The handler never ends, so without the deadline stop() would not resolve at all (the default is 30 s):
    // the bound only needs to be far below that, with slack for a slow CI machine.
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(settled.map(([m]) => m).sort()).toEqual([0, 1, 2]);
    expect(settled.every(([, o]) => o.type === 'nacked' && o.reason === 'stop-timeout')).toBe(true);
  });

  it('a produce() that ignores its signal: the channel closes anyway, a late message is nacked as stopped', async () => {
    const settled: [number, Outcome][] = [];
    let calls = 0;
    const q = new Queue<number>(
      () => ({
        async produce() {
          calls++;
          if (calls === 1) return 1;
          await delay(100);
          return 2;
        },
        settle: (m, o) => void settled.push([m, o]),
      }),
      () => ({ consume() {} }),
      { producers: 1, consumers: 1 },
    );
    const done = q.start();
    await delay(20);
    await q.stop({ timeoutMs: 2000 });
    await done;
    expect(settled).toEqual([
      [1, { type: 'consumed' }],
      [2, { type: 'nacked', reason: 'stopped' }],
    ]);
  });
});
