import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryEngine } from '../src/delivery/delivery-engine.js';
import type { DeliveryEngineOptions } from '../src/delivery/delivery-options.js';
import { json, startTarget, type Target, tempDeadLetters, until } from './engine-target.js';

const quiet = { error() {}, warn() {}, info() {}, debug() {} };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function engineFor(targets: Target[], options: Omit<DeliveryEngineOptions, 'deadLetters'>) {
  const dl = await tempDeadLetters();
  const engine = new DeliveryEngine({ deadLetters: dl.deadLetters, logger: quiet, ...options });
  cleanups.push(async () => {
    await engine.close({ timeoutMs: 1_000 });
    for (const t of targets) await t.close();
    await dl.cleanup();
  });
  return engine;
}

describe('review: DeliveryEngine defects', () => {
  it('defect "retry after 410": an attempt failing after its endpoint was disabled is dead-lettered at once, not after its retry delay', async () => {
    // Both attempts are in flight; the 410 comes first, the 503 a little later.
    const target = await startTarget(
      (_hit, n) => new Promise((resolve) => setTimeout(() => resolve(n === 0 ? 410 : 503), n === 0 ? 10 : 150)),
    );
    const engine = await engineFor([target], {
      concurrency: 2,
      // random() = 1: the retry would wait the whole minDelayMs (60 s).
      random: () => 0.999,
      retry: { maxAttempts: 10, minDelayMs: 60_000, maxDelayMs: 120_000 },
    });
    const a = engine.deliver({ id: 'a', url: target.url, body: json('a') });
    await until(() => target.hits.length === 1);
    const b = engine.deliver({ id: 'b', url: target.url, body: json('b') });
    expect(await a).toMatchObject({ outcome: 'dead-lettered', reason: 'gone' });
    const settledB = await Promise.race([b, new Promise((r) => setTimeout(() => r('still waiting'), 3_000))]);
    expect(settledB).toMatchObject({ outcome: 'dead-lettered', reason: 'endpoint-disabled' });
    expect(target.hits.length).toBe(2);
  });
});
