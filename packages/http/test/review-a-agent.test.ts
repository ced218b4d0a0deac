import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryEngine } from '../src/delivery/delivery-engine.js';
import type { DeliveryEngineOptions } from '../src/delivery/delivery-options.js';
import type { DeliveryResult } from '../src/delivery/types.js';
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
  it('defect "per-origin connection cap": a hanging path on a host never makes another path of the same host time out', async () => {
    // Concurrency is per URL; the own Agent used to cap connections per origin at `concurrency`, so the
    // hanging path's requests held every connection and the other path's requests queued in undici until
    // their attempt deadline.
    let openAtOk = -1;
    let target: Target | undefined;
    target = await startTarget((hit) => {
      if (hit.path === '/hang') return 'hang';
      // Requests open at the target when /ok arrives: this one and the two hanging (when none was given up).
      openAtOk = target?.open() ?? -1;
      return 200;
    });
    const origin = new URL(target.url).origin;
    const engine = await engineFor([target], {
      concurrency: 2,
      timeoutMs: 4_000,
      retry: { maxAttempts: 1 },
    });
    const hanging = [0, 1].map((i) => engine.deliver({ id: `h${i}`, url: `${origin}/hang`, body: json(i) }));
    for (const p of hanging) p.catch(() => undefined);
    await until(() => target?.hits.filter((h) => h.path === '/hang').length === 2, 5_000);
    const ok: DeliveryResult = await engine.deliver({ id: 'ok', url: `${origin}/ok`, body: json('ok') });
    expect(ok).toMatchObject({ outcome: 'delivered', attempts: 1, status: 200 });
    // With the cap, /ok reached the target only once a hanging request had been given up (at timeoutMs).
    expect(openAtOk).toBe(3);
    expect(target.hits.filter((h) => h.path === '/hang').length).toBe(2);
  });
});
