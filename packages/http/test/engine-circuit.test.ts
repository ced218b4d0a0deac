import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryEngine } from '../src/delivery/delivery-engine.js';
import type { DeliveryEngineOptions } from '../src/delivery/delivery-options.js';
import { DeliveryClosedError } from '../src/delivery/errors.js';
import type { DeliveryResult, EndpointState } from '../src/delivery/types.js';
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
    await engine.close();
    for (const t of targets) await t.close();
    await dl.cleanup();
  });
  return engine;
}

describe('DeliveryEngine circuit breaker', () => {
  it('opens after failureThreshold consecutive failures, sends nothing while open, probes once per openMs, closes on success', async () => {
    let healthy = false;
    let engine: DeliveryEngine | undefined;
    const seenIn: string[] = [];
    const target = await startTarget(() => {
      seenIn.push(engine?.endpoints()[0]?.circuit ?? '?');
      return healthy ? 200 : 503;
    });
    engine = await engineFor([target], {
      concurrency: 1,
      retry: { maxAttempts: 1000, minDelayMs: 1, maxDelayMs: 2 },
      circuit: { failureThreshold: 3, openMs: 50 },
    });
    const states: { circuit: string; failures: number }[] = [];
    engine.on('endpoint', (s: EndpointState) => states.push({ circuit: s.circuit, failures: s.consecutiveFailures }));
    const results = Array.from({ length: 5 }, (_, i) =>
      engine?.deliver({ id: `c${i}`, url: target.url, body: json(i) }),
    );
    await until(() => states.filter((s) => s.circuit === 'half-open').length >= 3);
    healthy = true;
    const settled = await Promise.all(results);
    expect(settled.every((r) => r?.outcome === 'delivered')).toBe(true);
    // closed -> open at the 3rd failure; then half-open, open again (the probe failed) ..., finally closed.
    expect(states[0]).toEqual({ circuit: 'open', failures: 3 });
    expect(states.at(-1)?.circuit).toBe('closed');
    for (let i = 1; i < states.length - 1; i++) expect(states[i]?.circuit).toBe(i % 2 === 1 ? 'half-open' : 'open');
    expect(seenIn).not.toContain('open');
    // One request per half-open period (the probe): every half-open hit is followed by a state change.
    const probes = seenIn.filter((s) => s === 'half-open').length;
    expect(probes).toBe(states.filter((s) => s.circuit === 'half-open').length);
    expect(seenIn.slice(0, 3)).toEqual(['closed', 'closed', 'closed']);
  });

  it('items waiting behind an open circuit still age: dead-lettered max-age before the probe', async () => {
    const target = await startTarget(() => 503);
    const engine = await engineFor([target], {
      concurrency: 1,
      retry: { maxAttempts: 100, maxAgeMs: 100, minDelayMs: 1, maxDelayMs: 2 },
      circuit: { failureThreshold: 1, openMs: 300 },
    });
    const first = engine.deliver({ id: 'f', url: target.url, body: json(0) });
    await until(() => engine.endpoints()[0]?.circuit === 'open');
    const waiting = Array.from({ length: 3 }, (_, i) =>
      engine.deliver({ id: `w${i}`, url: target.url, body: json(i) }),
    );
    const results = await Promise.all([first, ...waiting]);
    for (const r of results) expect(r).toMatchObject({ outcome: 'dead-lettered', reason: 'max-age' });
    expect(target.hits).toHaveLength(1);
  });

  it('one endpoint down (hanging, then refusing) never holds up another', async () => {
    const down = await startTarget(() => 'hang');
    const up = await startTarget(() => 200);
    const engine = await engineFor([down, up], {
      concurrency: 4,
      timeoutMs: 200,
      retry: { maxAttempts: 1000, minDelayMs: 5, maxDelayMs: 20 },
      circuit: { failureThreshold: 5, openMs: 50 },
    });
    const stuck: Promise<DeliveryResult>[] = [];
    const flowing: Promise<DeliveryResult>[] = [];
    for (let i = 0; i < 40; i++) {
      stuck.push(engine.deliver({ id: `down${i}`, url: down.url, body: json(i) }));
      flowing.push(engine.deliver({ id: `up${i}`, url: up.url, body: json(i) }));
    }
    const stuckSettled = Promise.allSettled(stuck);
    const started = Date.now();
    const ok = await Promise.all(flowing);
    expect(ok.every((r) => r.outcome === 'delivered')).toBe(true);
    // Far less than one timeout per stuck item: nothing of `up` waited for `down`.
    expect(Date.now() - started).toBeLessThan(3_000);
    const [downState] = engine.endpoints().filter((e) => e.url === down.url);
    expect(downState?.delivered).toBe(0);
    expect(down.open()).toBeLessThanOrEqual(4);
    await engine.close({ timeoutMs: 1_000 });
    for (const r of await stuckSettled) {
      expect(r.status).toBe('rejected');
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(DeliveryClosedError);
    }
  });
});
