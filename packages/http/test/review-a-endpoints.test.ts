import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryEngine } from '../src/delivery/delivery-engine.js';
import type { DeliveryEngineOptions } from '../src/delivery/delivery-options.js';
import { deadUrl } from './deliverer-target.js';
import { json, type Target, tempDeadLetters, until } from './engine-target.js';

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
  it('defect "endpoints never forgotten": failing distinct URLs (per-message URLs) do not pile up in the endpoint map', async () => {
    const down = await deadUrl('/x');
    const engine = await engineFor([], {
      concurrency: 1,
      connectTimeoutMs: 1_000,
      retry: { maxAttempts: 1 },
      circuit: { failureThreshold: 1, openMs: 20 },
    });
    const total = 1_300;
    const results = await Promise.all(
      Array.from({ length: total }, (_, i) => engine.deliver({ id: `m${i}`, url: `${down}?n=${i}`, body: json(i) })),
    );
    expect(results.every((r) => r.outcome === 'dead-lettered' && r.reason === 'attempts')).toBe(true);
    // Their circuits opened (threshold 1) and go half-open after openMs: then nothing holds them.
    await until(() => engine.endpoints().length <= 1_024, 5_000);
    expect(engine.endpoints().length).toBeLessThanOrEqual(1_024);
  });
});
