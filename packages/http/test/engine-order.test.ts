import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryEngine } from '../src/delivery/delivery-engine.js';
import type { DeliveryResult } from '../src/delivery/types.js';
import { json, type Reply, startTarget, tempDeadLetters } from './engine-target.js';

const quiet = { error() {}, warn() {}, info() {}, debug() {} };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A small seeded PRNG (mulberry32), so a failure is reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('DeliveryEngine per-key order', () => {
  for (const seed of [1, 2, 3]) {
    it(`delivers each key's items in order, one in flight per key, under random failures (seed ${seed})`, async () => {
      const random = prng(seed);
      const inFlight = new Map<string, number>();
      let overlaps = 0;
      let maxTotal = 0;
      let total = 0;
      const delivered = new Map<string, number[]>();
      const target = await startTarget(async (hit): Promise<Reply> => {
        const key = String(hit.headers['x-key'] ?? '');
        const n = JSON.parse(hit.body.toString()).n as number;
        if (key !== '') {
          if ((inFlight.get(key) ?? 0) > 0) overlaps++;
          inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
        }
        total++;
        maxTotal = Math.max(maxTotal, total);
        await sleep(Math.floor(random() * 4));
        const r = random();
        const reply: Reply = r < 0.25 ? 500 : r < 0.3 ? { status: 429, headers: { 'retry-after': '0' } } : 200;
        if (reply === 200 && key !== '') {
          const list = delivered.get(key) ?? [];
          list.push(n);
          delivered.set(key, list);
        }
        total--;
        if (key !== '') inFlight.set(key, (inFlight.get(key) ?? 1) - 1);
        return reply;
      });
      const dl = await tempDeadLetters();
      const engine = new DeliveryEngine({
        deadLetters: dl.deadLetters,
        concurrency: 8,
        timeoutMs: 2_000,
        retry: { maxAttempts: 60, minDelayMs: 1, maxDelayMs: 8, factor: 2 },
        circuit: { failureThreshold: 10_000, openMs: 50 },
        random,
        logger: quiet,
      });
      cleanups.push(async () => {
        await engine.close();
        await target.close();
        await dl.cleanup();
      });
      const keys = ['a', 'b', 'c', 'd', 'e'];
      const perKey = 20;
      const results: Promise<DeliveryResult>[] = [];
      for (let n = 0; n < perKey; n++)
        for (const key of keys) {
          const item = { id: `${key}_${n}`, url: target.url, body: json({ n }), key, headers: { 'x-key': key } };
          results.push(engine.deliver(item));
          if (n % 4 === 0) results.push(engine.deliver({ id: `free_${key}_${n}`, url: target.url, body: json({ n }) }));
        }
      const settled = await Promise.all(results);
      expect(settled.every((r) => r.outcome === 'delivered')).toBe(true);
      expect(overlaps).toBe(0);
      expect(maxTotal).toBeLessThanOrEqual(8);
      for (const key of keys) expect(delivered.get(key)).toEqual(Array.from({ length: perKey }, (_, i) => i));
      expect(engine.stats()).toMatchObject({ inFlight: 0, waiting: 0 });
      expect(engine.stats().retried).toBeGreaterThan(0);
    });
  }

  it("a key's next item starts only after the head finished, dead-lettered heads included", async () => {
    const order: string[] = [];
    const target = await startTarget((hit) => {
      const id = String(hit.headers['webhook-id']);
      order.push(id);
      return id === 'k_0' ? 400 : id === 'k_1' && order.filter((x) => x === 'k_1').length < 3 ? 503 : 200;
    });
    const dl = await tempDeadLetters();
    const engine = new DeliveryEngine({
      deadLetters: dl.deadLetters,
      retry: { minDelayMs: 5, maxDelayMs: 10 },
      logger: quiet,
    });
    cleanups.push(async () => {
      await engine.close();
      await target.close();
      await dl.cleanup();
    });
    const finished: string[] = [];
    const all = ['k_0', 'k_1', 'k_2'].map((id) =>
      engine.deliver({ id, url: target.url, body: json(id), key: 'k' }).then((r) => {
        finished.push(`${id}:${r.outcome}`);
        return r;
      }),
    );
    await Promise.all(all);
    expect(order).toEqual(['k_0', 'k_1', 'k_1', 'k_1', 'k_2']);
    expect(finished).toEqual(['k_0:dead-lettered', 'k_1:delivered', 'k_2:delivered']);
  });

  it('a key spanning two endpoints keeps its order across them', async () => {
    const seen: string[] = [];
    const slow = await startTarget(async (hit) => {
      await sleep(30);
      seen.push(String(hit.headers['webhook-id']));
      return 200;
    });
    const fast = await startTarget((hit) => {
      seen.push(String(hit.headers['webhook-id']));
      return 200;
    });
    const dl = await tempDeadLetters();
    const engine = new DeliveryEngine({ deadLetters: dl.deadLetters, logger: quiet });
    cleanups.push(async () => {
      await engine.close();
      await slow.close();
      await fast.close();
      await dl.cleanup();
    });
    await Promise.all([
      engine.deliver({ id: 'x1', url: slow.url, body: json(1), key: 'x' }),
      engine.deliver({ id: 'x2', url: fast.url, body: json(2), key: 'x' }),
      engine.deliver({ id: 'x3', url: slow.url, body: json(3), key: 'x' }),
    ]);
    expect(seen).toEqual(['x1', 'x2', 'x3']);
  });
});
