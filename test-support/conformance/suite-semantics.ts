import { PublishRejectedError, UnroutableError, UnsupportedFeatureError } from '@q/core';
import { expect, it } from 'vitest';
import { delay, outcomeWithin } from '../wait.js';
import type { ConformanceAdapter, Destination, DestinationOptions } from './adapter.js';
import { consume, messages, pushAll } from './consume.js';

const ids = (list: readonly { id: string }[]): string[] => list.map((m) => m.id);

/** Runs `body` on a fresh destination, always disposing it. */
async function withDestination(
  adapter: ConformanceAdapter,
  options: DestinationOptions,
  body: (destination: Destination) => Promise<void>,
): Promise<void> {
  const destination = await adapter.destination(options);
  try {
    await body(destination);
  } finally {
    await destination.dispose();
  }
}

/** Expects the adapter to refuse `options` with `UnsupportedFeatureError` before anything runs. */
async function expectRefused(adapter: ConformanceAdapter, options: DestinationOptions): Promise<void> {
  const made = (async () => adapter.destination(options))();
  await expect(made).rejects.toBeInstanceOf(UnsupportedFeatureError);
}

/** The AMQP-grade semantics: each promised one is tested, each unpromised option-backed one must be refused. */
export function semanticsTests(get: () => ConformanceAdapter): void {
  it('per-key order: one consumer sees each key in push order (or the adapter says it does not promise it)', async () => {
    const adapter = get();
    await withDestination(adapter, {}, async (destination) => {
      const sent = messages('order', 600, 6);
      await pushAll(destination, sent);
      const { handled } = await consume(destination, {
        until: new Set(ids(sent)),
        queue: { consumers: 1, producers: 1 },
      });
      const byKey = new Map<string, number[]>();
      for (const m of handled) byKey.set(m.key, [...(byKey.get(m.key) ?? []), Number(m.id.split('-')[1])]);
      const inOrder = [...byKey.values()].every((seq) => seq.every((n, i) => i === 0 || n > (seq[i - 1] ?? -1)));
      if (adapter.features.perKeyOrder) expect(inOrder).toBe(true);
      expect(new Set(ids(handled)).size).toBe(sent.length);
    });
  });

  it('nack: a message whose handler failed is delivered again (or, where not promised, settled once and not redelivered)', async () => {
    const adapter = get();
    await withDestination(adapter, {}, async (destination) => {
      const sent = messages('nack', 20);
      await pushAll(destination, sent);
      const failedOnce = new Set<string>();
      const { handled, attempts } = await consume(destination, {
        handler: (m) => {
          if (failedOnce.has(m.id)) return;
          failedOnce.add(m.id);
          throw new Error(`first attempt of ${m.id} fails`);
        },
        ...(adapter.features.nackRequeue ? { until: new Set(ids(sent)) } : { idleMs: 1_500, minMs: 1_000 }),
      });
      if (adapter.features.nackRequeue) {
        expect(new Set(ids(handled))).toEqual(new Set(ids(sent)));
        for (const m of handled) if (m.deliveries !== undefined) expect(m.deliveries).toBeGreaterThanOrEqual(2);
        expect(attempts.length).toBeGreaterThanOrEqual(sent.length * 2);
      } else {
        expect(ids(handled)).toEqual([]);
        expect(attempts.length).toBe(sent.length);
      }
    });
  });

  it('dead letter on a failed handler: the record says rejected, with the queue and a count', async () => {
    const adapter = get();
    await withDestination(adapter, {}, async (destination) => {
      const sent = messages('rejected', 10);
      await pushAll(destination, sent);
      const deadLetter = destination.deadLetterPusher?.();
      try {
        await consume(destination, {
          handler: () => {
            throw new Error('always fails');
          },
          ...(deadLetter !== undefined ? { queue: { deadLetter, retry: { attempts: 2, minDelayMs: 1 } } } : {}),
          idleMs: 1_500,
          minMs: 500,
        });
      } finally {
        await deadLetter?.close();
      }
      const dead = await destination.deadLetters();
      expect(new Set(ids(dead))).toEqual(new Set(ids(sent)));
      for (const d of dead) {
        expect(d.deaths[0]).toMatchObject({ reason: 'rejected', count: 1 });
        expect(d.deaths[0]?.queue).toContain(destination.name);
        expect(typeof d.deaths[0]?.time).toBe('number');
      }
    });
  });

  it('delivery limit: a message that keeps failing is dead-lettered with reason delivery-limit', async () => {
    const adapter = get();
    if (!adapter.features.deliveryLimit) return expectRefused(adapter, { deliveryLimit: 2 });
    await withDestination(adapter, { deliveryLimit: 2 }, async (destination) => {
      const sent = messages('limit', 5);
      await pushAll(destination, sent);
      const { handled, attempts } = await consume(destination, {
        handler: () => {
          throw new Error('poison');
        },
        idleMs: 2_000,
        minMs: 1_000,
      });
      expect(handled).toEqual([]);
      const perId = new Map<string, number>();
      for (const m of attempts) perId.set(m.id, (perId.get(m.id) ?? 0) + 1);
      for (const id of ids(sent)) expect(perId.get(id)).toBeGreaterThanOrEqual(2);
      const dead = await destination.deadLetters();
      expect(new Set(ids(dead))).toEqual(new Set(ids(sent)));
      for (const d of dead) expect(d.deaths.map((x) => x.reason)).toContain('delivery-limit');
    });
  });

  it('TTL: an expired message is never handled; it is dead-lettered with reason expired', async () => {
    const adapter = get();
    if (!adapter.features.ttl) return expectRefused(adapter, { ttlMs: 100 });
    await withDestination(adapter, { ttlMs: 150 }, async (destination) => {
      const sent = messages('ttl', 20);
      await pushAll(destination, sent);
      await delay(400);
      const { handled } = await consume(destination, { idleMs: 1_500, minMs: 1_000 });
      expect(ids(handled)).toEqual([]);
      const dead = await destination.deadLetters();
      expect(new Set(ids(dead))).toEqual(new Set(ids(sent)));
      for (const d of dead) expect(d.deaths[0]?.reason).toBe('expired');
    });
  });

  it('max length, reject-publish: pushes beyond the limit reject with PublishRejectedError; exactly the limit is kept', async () => {
    const adapter = get();
    if (!adapter.features.maxLength.includes('reject-publish')) {
      return expectRefused(adapter, { maxLength: 10, overflow: 'reject-publish' });
    }
    await withDestination(adapter, { maxLength: 10, overflow: 'reject-publish' }, async (destination) => {
      const sent = messages('maxlen-reject', 15);
      const results: PromiseSettledResult<void>[] = [];
      for (const m of sent) results.push(...(await pushAll(destination, [m])));
      expect(results.map((r) => r.status)).toEqual([...Array(10).fill('fulfilled'), ...Array(5).fill('rejected')]);
      for (const r of results.slice(10))
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(PublishRejectedError);
      const { handled } = await consume(destination, { until: new Set(ids(sent.slice(0, 10))) });
      expect(ids(handled).sort()).toEqual(ids(sent.slice(0, 10)).sort());
    });
  });

  it('max length, drop-head: the oldest are dropped and dead-lettered with reason maxlen', async () => {
    const adapter = get();
    if (!adapter.features.maxLength.includes('drop-head')) {
      return expectRefused(adapter, { maxLength: 10, overflow: 'drop-head' });
    }
    await withDestination(adapter, { maxLength: 10, overflow: 'drop-head' }, async (destination) => {
      const sent = messages('maxlen-drop', 15);
      for (const m of sent) await pushAll(destination, [m]);
      const { handled } = await consume(destination, { until: new Set(ids(sent.slice(5))), minMs: 500 });
      expect(ids(handled).sort()).toEqual(ids(sent.slice(5)).sort());
      const dead = await destination.deadLetters();
      expect(ids(dead).sort()).toEqual(ids(sent.slice(0, 5)).sort());
      for (const d of dead) expect(d.deaths[0]?.reason).toBe('maxlen');
    });
  });

  it('mandatory: a push nothing receives rejects with UnroutableError (adapters that promise it)', async () => {
    const adapter = get();
    if (!adapter.features.mandatory || adapter.pushUnroutable === undefined) {
      // A destination that always exists (an embedded log) has nothing to route: the promise is moot.
      expect(adapter.features.mandatory).toBe(false);
      return;
    }
    await expect(adapter.pushUnroutable({ id: 'nowhere-1', key: 'k' })).rejects.toBeInstanceOf(UnroutableError);
  });

  it('confirms: a push through an unreachable broker rejects, never resolves', async () => {
    const pushed = get().pushUnreachable({ id: 'unreachable-1', key: 'k' });
    // Generous: a client may retry its connect with back-off first.
    expect(await outcomeWithin(pushed, 45_000)).toMatch(/^rejected/);
  }, 60_000);
}
