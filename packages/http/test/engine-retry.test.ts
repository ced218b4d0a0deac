import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryEngine } from '../src/delivery/delivery-engine.js';
import type { DeliveryEngineOptions } from '../src/delivery/delivery-options.js';
import { classifyStatus } from '../src/delivery/outcome.js';
import { parseRetryAfter } from '../src/delivery/retry-after.js';
import { json, startTarget, tempDeadLetters, until } from './engine-target.js';

const quiet = { error() {}, warn() {}, info() {}, debug() {} };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(
  reply: Parameters<typeof startTarget>[0],
  options: Omit<DeliveryEngineOptions, 'deadLetters'> = {},
) {
  const target = await startTarget(reply);
  const dl = await tempDeadLetters();
  const engine = new DeliveryEngine({
    deadLetters: dl.deadLetters,
    timeoutMs: 200,
    retry: { minDelayMs: 5, maxDelayMs: 50, factor: 2 },
    circuit: { failureThreshold: 1000, openMs: 50 },
    logger: quiet,
    ...options,
  });
  cleanups.push(async () => {
    await engine.close();
    await target.close();
    await dl.cleanup();
  });
  return { target, engine, deadLetters: dl.deadLetters };
}

describe('outcome classification', () => {
  it('2xx delivers; 410 is gone; 408, 429, 3xx, 5xx retry; other 4xx reject', () => {
    for (const s of [200, 201, 202, 204, 299]) expect(classifyStatus(s)).toBe('delivered');
    expect(classifyStatus(410)).toBe('gone');
    for (const s of [408, 429, 300, 301, 302, 304, 307, 308, 500, 502, 503, 504, 599, 100, 600])
      expect(classifyStatus(s)).toBe('retry');
    for (const s of [400, 401, 403, 404, 405, 409, 413, 415, 422, 451, 499]) expect(classifyStatus(s)).toBe('rejected');
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
  it('reads delay-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter(['3', '9'], now)).toBe(3_000);
  });
  it('reads HTTP-dates (IMF-fixdate, RFC 850, asctime); a past date is 0', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wednesday, 21-Oct-15 07:29:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Wed Oct 21 07:28:10 2015', now)).toBe(10_000);
    expect(parseRetryAfter('Tue, 20 Oct 2015 07:28:00 GMT', now)).toBe(0);
  });
  it('ignores what it cannot read', () => {
    for (const v of [undefined, '', 'soon', '-5', '1.5', []]) expect(parseRetryAfter(v, now)).toBeUndefined();
  });
});

describe('DeliveryEngine retries', () => {
  it('honours Retry-After: a 429 asking for 1 s waits about 1 s (not the 5 ms back-off)', async () => {
    const { target, engine } = await setup(
      (_h, n) => (n === 0 ? { status: 429, headers: { 'retry-after': '1' } } : 200),
      {
        retry: { minDelayMs: 5, maxDelayMs: 10_000 },
      },
    );
    const delays: number[] = [];
    engine.on('retry', (_i, info) => delays.push(info.delayMs));
    expect(await engine.deliver({ id: 'ra', url: target.url, body: json(1) })).toMatchObject({
      outcome: 'delivered',
      attempts: 2,
    });
    expect(delays).toEqual([1000]);
    const waited = (target.hits[1]?.at ?? 0) - (target.hits[0]?.at ?? 0);
    expect(waited).toBeGreaterThanOrEqual(900);
    expect(waited).toBeLessThan(5_000);
  });

  it('caps Retry-After at maxDelayMs, and ignores a shorter one than the back-off', async () => {
    const { target, engine } = await setup(
      (_h, n) =>
        n === 0
          ? { status: 503, headers: { 'retry-after': '3600' } }
          : n === 1
            ? { status: 503, headers: { 'retry-after': '0' } }
            : 200,
      { retry: { minDelayMs: 20, maxDelayMs: 40, factor: 1 }, random: () => 0.5 },
    );
    const delays: number[] = [];
    engine.on('retry', (_i, info) => delays.push(info.delayMs));
    expect(await engine.deliver({ id: 'cap', url: target.url, body: json(1) })).toMatchObject({
      outcome: 'delivered',
      attempts: 3,
    });
    expect(delays).toEqual([40, 10]);
  });

  it('retries a hanging target after timeoutMs; the duplicate carries the same webhook-id, a new attempt', async () => {
    const { target, engine } = await setup((_h, n) => (n === 0 ? 'hang' : 200), { timeoutMs: 200 });
    const causes: string[] = [];
    engine.on('retry', (_i, info) => causes.push(info.cause));
    const result = await engine.deliver({ id: 'msg_hang', url: target.url, body: json({ x: 1 }) });
    expect(result).toEqual({ outcome: 'delivered', attempts: 2, status: 200 });
    expect(causes).toHaveLength(1);
    expect(causes[0]).toMatch(/timeout after 200 ms|TIMEOUT/);
    expect(target.hits.map((h) => h.headers['webhook-id'])).toEqual(['msg_hang', 'msg_hang']);
    expect(target.hits.map((h) => h.headers['idempotency-key'])).toEqual(['msg_hang', 'msg_hang']);
  });

  it('a 2xx whose body never ends is delivered at the deadline; a 500 whose body never ends is retried', async () => {
    const { target, engine } = await setup((_h, n) =>
      n === 0 ? { status: 500, body: 'oops', hangBody: true } : { status: 200, body: 'ok', hangBody: true },
    );
    const result = await engine.deliver({ id: 'slow-body', url: target.url, body: json(1) });
    expect(result).toEqual({ outcome: 'delivered', attempts: 2, status: 200 });
    // The aborted requests' connections are closed, not left hanging.
    await until(() => target.open() === 0);
  });

  it('does not follow redirects: a 302 is a failed attempt', async () => {
    const { target, engine } = await setup(
      (h) => (h.path === '/hook' ? { status: 302, headers: { location: '/elsewhere' } } : 200),
      {
        retry: { maxAttempts: 2, minDelayMs: 5, maxDelayMs: 10 },
      },
    );
    const result = await engine.deliver({ id: 'redir', url: target.url, body: json(1) });
    expect(result).toMatchObject({
      outcome: 'dead-lettered',
      reason: 'attempts',
      attempts: 2,
      status: 302,
      cause: 'HTTP 302',
    });
    expect(target.hits.map((h) => h.path)).toEqual(['/hook', '/hook']);
  });

  it('dead-letters after maxAttempts with the last cause, status and a UTF-8-safe excerpt of excerptBytes', async () => {
    const { target, engine, deadLetters } = await setup(() => ({ status: 503, body: `${'é'.repeat(10)}tail` }), {
      retry: { maxAttempts: 3, minDelayMs: 5, maxDelayMs: 10 },
      excerptBytes: 7,
    });
    const events: unknown[] = [];
    engine.on('dead-letter', (_i, r) => events.push(r));
    const result = await engine.deliver({
      id: 'max',
      url: target.url,
      body: json({ m: 1 }),
      headers: { 'x-tenant': 't1' },
    });
    const expected = { outcome: 'dead-lettered', attempts: 3, reason: 'attempts', status: 503, cause: 'HTTP 503' };
    expect(result).toEqual(expected);
    expect(events).toEqual([expected]);
    expect(target.hits).toHaveLength(3);
    const [dl] = await deadLetters.list();
    expect(dl).toMatchObject({ reason: 'attempts', attempts: 3, status: 503, cause: 'HTTP 503', excerpt: 'ééé' });
    expect(dl?.item.headers).toEqual({ 'x-tenant': 't1' });
  });

  it('dead-letters with reason max-age when the next attempt would start past maxAgeMs', async () => {
    const { target, engine, deadLetters } = await setup(() => ({ status: 500, body: 'down' }), {
      retry: { maxAttempts: 1000, maxAgeMs: 150, minDelayMs: 20, maxDelayMs: 40, factor: 1 },
    });
    const started = Date.now();
    const result = await engine.deliver({ id: 'old', url: target.url, body: json(1) });
    expect(result).toMatchObject({ outcome: 'dead-lettered', reason: 'max-age', status: 500, cause: 'HTTP 500' });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(result.attempts).toBeGreaterThanOrEqual(1);
    expect((await deadLetters.list())[0]).toMatchObject({ reason: 'max-age', excerpt: 'down' });
  });

  it('an item already older than maxAgeMs (acceptedAt) is dead-lettered without an attempt', async () => {
    const { target, engine } = await setup(() => 200, { retry: { maxAgeMs: 1_000 } });
    const result = await engine.deliver({
      id: 'ancient',
      url: target.url,
      body: json(1),
      acceptedAt: Date.now() - 5_000,
    });
    expect(result).toMatchObject({ outcome: 'dead-lettered', reason: 'max-age', attempts: 0 });
    expect(target.hits).toHaveLength(0);
  });

  it('retries connection errors (nothing listening) and dead-letters them with the error code', async () => {
    const { target, engine } = await setup(() => 200, { retry: { maxAttempts: 2, minDelayMs: 5, maxDelayMs: 10 } });
    const url = target.url;
    await target.close();
    const result = await engine.deliver({ id: 'refused', url, body: json(1) });
    expect(result).toMatchObject({ outcome: 'dead-lettered', reason: 'attempts', attempts: 2, status: undefined });
    if (result.outcome === 'dead-lettered') expect(result.cause).toMatch(/ECONNREFUSED/);
  });
});
