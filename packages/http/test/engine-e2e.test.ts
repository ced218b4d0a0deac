import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryEngine } from '../src/delivery/delivery-engine.js';
import { json, startTarget, type Target, tempDeadLetters } from './engine-target.js';

const fast = { minDelayMs: 5, maxDelayMs: 50, factor: 2 };
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(reply?: Parameters<typeof startTarget>[0]) {
  const target = await startTarget(reply);
  const dl = await tempDeadLetters();
  const engine = new DeliveryEngine({
    deadLetters: dl.deadLetters,
    timeoutMs: 2_000,
    retry: fast,
    circuit: { failureThreshold: 100, openMs: 50 },
    logger: { error() {}, warn() {}, info() {}, debug() {} },
  });
  cleanups.push(async () => {
    await engine.close();
    await target.close();
    await dl.cleanup();
  });
  return { target, engine, deadLetters: dl.deadLetters };
}

function headersOf(target: Target, i: number) {
  return target.hits[i]?.headers ?? {};
}

describe('DeliveryEngine end to end (real node:http target)', () => {
  it('delivers on a 2xx with the webhook headers, the body as given', async () => {
    const { target, engine } = await setup(() => 204);
    const body = json({ type: 'x', n: 1 });
    const result = await engine.deliver({
      id: 'msg_1',
      url: target.url,
      body,
      headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    });
    expect(result).toEqual({ outcome: 'delivered', attempts: 1, status: 204 });
    expect(target.hits).toHaveLength(1);
    const h = headersOf(target, 0);
    expect(target.hits[0]?.body.equals(body)).toBe(true);
    expect(h['webhook-id']).toBe('msg_1');
    expect(h['idempotency-key']).toBe('msg_1');
    expect(h['content-type']).toBe('application/json');
    expect(h['user-agent']).toBe('q-http/0.1');
    expect(h.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(Math.abs(Number(h['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(5);
    expect(h['webhook-signature']).toBeUndefined();
    expect(engine.stats()).toMatchObject({ inFlight: 0, waiting: 0, delivered: 1, retried: 0, deadLettered: 0 });
  });

  it('retries a 500 and delivers when the target recovers; the id stays the same', async () => {
    const { target, engine } = await setup((_hit, n) => (n < 2 ? 500 : 200));
    const retries: number[] = [];
    engine.on('retry', (_item, info) => retries.push(info.attempt));
    const result = await engine.deliver({ id: 'msg_2', url: target.url, body: json({ a: 1 }) });
    expect(result).toEqual({ outcome: 'delivered', attempts: 3, status: 200 });
    expect(retries).toEqual([1, 2]);
    expect(target.hits.map((h) => h.headers['webhook-id'])).toEqual(['msg_2', 'msg_2', 'msg_2']);
    expect(engine.stats()).toMatchObject({ delivered: 1, retried: 2, deadLettered: 0 });
  });

  it('dead-letters a 400 at once, with the cause and the response excerpt', async () => {
    const { target, engine, deadLetters } = await setup(() => ({ status: 400, body: 'bad field "x"' }));
    const result = await engine.deliver({ id: 'msg_3', url: target.url, body: json({ a: 1 }), seq: 7, key: 'k' });
    expect(result).toEqual({
      outcome: 'dead-lettered',
      attempts: 1,
      reason: 'rejected',
      status: 400,
      cause: 'HTTP 400',
    });
    expect(target.hits).toHaveLength(1);
    expect(deadLetters.count).toBe(1);
    const [dl] = await deadLetters.list();
    expect(dl).toMatchObject({
      reason: 'rejected',
      attempts: 1,
      status: 400,
      cause: 'HTTP 400',
      excerpt: 'bad field "x"',
    });
    expect(dl?.item).toMatchObject({ id: 'msg_3', url: target.url, key: 'k', seq: 7 });
    expect(dl?.item.body.toString()).toBe('{"a":1}');
  });

  it('a 410 dead-letters the item as gone and disables the endpoint until enabled', async () => {
    const { target, engine, deadLetters } = await setup(() => 410);
    const states: string[] = [];
    engine.on('endpoint', (s) => states.push(s.circuit));
    const first = await engine.deliver({ id: 'a', url: target.url, body: json(1) });
    expect(first).toMatchObject({ outcome: 'dead-lettered', reason: 'gone', status: 410, attempts: 1 });
    expect(states).toEqual(['disabled']);
    const second = await engine.deliver({ id: 'b', url: target.url, body: json(2) });
    expect(second).toMatchObject({ outcome: 'dead-lettered', reason: 'endpoint-disabled', attempts: 0 });
    expect(target.hits).toHaveLength(1);
    expect(engine.endpoints()).toEqual([
      expect.objectContaining({ url: target.url, circuit: 'disabled', deadLettered: 2 }),
    ]);
    target.setReply(() => 200);
    engine.enable(target.url);
    expect(await engine.deliver({ id: 'c', url: target.url, body: json(3) })).toMatchObject({ outcome: 'delivered' });
    expect(states).toEqual(['disabled', 'closed']);
    expect((await deadLetters.list()).map((d) => d.reason)).toEqual(['gone', 'endpoint-disabled']);
  });

  it('dead-letters an invalid URL at once', async () => {
    const { engine } = await setup();
    const result = await engine.deliver({ id: 'x', url: 'ftp://example.com/', body: json(1) });
    expect(result).toMatchObject({ outcome: 'dead-lettered', reason: 'invalid-url', attempts: 0 });
  });
});
