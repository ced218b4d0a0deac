import { randomUUID } from 'node:crypto';
import { SpanKind, trace } from '@opentelemetry/api';
import { Queue, silentLogger } from '@q/core';
import { redisConsumerTracing, redisProducerTracing, tracedConsumer, tracedPusher } from '@q/otel';
import { RedisListPusher, type RedisMessage, redisListProducerFactory, unwrapEnvelope, wrapEnvelope } from '@q/redis';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { idOf, installTracing, linkedTo, parentOf } from './support/tracing.js';

const exporter = installTracing();
const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
afterAll(async () => {
  await redis.quit().catch(() => redis.disconnect());
});

/** Pushes `traced` messages through a traced pusher (enveloped) and `bare` ones through the plain one. */
async function fill(key: string, traced: number, bare: number): Promise<void> {
  const pusher = new RedisListPusher({ redis, key, flushIntervalMs: 5 });
  const tracedPush = tracedPusher(pusher, redisProducerTracing(key, wrapEnvelope));
  for (let i = 0; i < traced; i++) await tracedPush.pushAndConfirm(JSON.stringify({ n: i, traced: true }));
  for (let i = 0; i < bare; i++) await pusher.pushAndConfirm(JSON.stringify({ n: i, traced: false }));
  await pusher.close();
}

describe('tracing across a real redis-server, through the envelope', () => {
  it('each consume is a process span, child of and linked to its send span; bare bodies in the same list are untraced', async () => {
    exporter.reset();
    const key = `q-test:otel:${randomUUID()}`;
    const traced = 30;
    const bare = 10;
    await fill(key, traced, bare);
    expect(await redis.llen(key)).toBe(traced + bare);

    const seen = new Map<string, number>();
    const activeInHandler: string[] = [];
    const queue = new Queue<RedisMessage>(
      redisListProducerFactory({ redis, key, blockTimeoutMs: 50 }),
      tracedConsumer(
        () => ({
          consume(m: RedisMessage) {
            const body = unwrapEnvelope(m.body).body;
            activeInHandler.push(trace.getActiveSpan()?.spanContext().spanId ?? 'none');
            seen.set(body, (seen.get(body) ?? 0) + 1);
          },
        }),
        redisConsumerTracing(key, unwrapEnvelope),
      ),
      { producers: 1, consumers: 2, logger: silentLogger },
    );
    const done = queue.start();
    await until(() => seen.size === traced + bare, 20_000, 'every message consumed');
    await queue.stop();
    await done;
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    // The handler saw the bodies as pushed, the envelope taken off.
    expect([...seen.keys()].every((b) => typeof JSON.parse(b).n === 'number')).toBe(true);

    const spans = exporter.getFinishedSpans();
    const sends = spans.filter((s) => s.kind === SpanKind.PRODUCER);
    const processes = spans.filter((s) => s.kind === SpanKind.CONSUMER);
    expect(sends.length).toBe(traced);
    expect(processes.length).toBe(traced + bare);
    for (const s of sends) {
      expect(s.name).toBe(`send ${key}`);
      expect(s.attributes).toMatchObject({ 'messaging.system': 'redis', 'messaging.destination.name': key });
    }
    const sendIds = new Set(sends.map((s) => idOf(s.spanContext())));
    const linked = processes.filter((p) => p.links.length > 0);
    expect(linked.length).toBe(traced);
    expect(new Set(linked.map(linkedTo))).toEqual(sendIds);
    for (const p of linked) expect(parentOf(p)).toBe(linkedTo(p));
    // Bare bodies: no producer to link to, so a root span of its own.
    for (const p of processes.filter((p) => p.links.length === 0)) expect(p.parentSpanContext).toBeUndefined();
    for (const p of processes) {
      expect(p.name).toBe(`process ${key}`);
      expect(p.attributes).toMatchObject({
        'messaging.system': 'redis',
        'messaging.operation.type': 'process',
        'messaging.destination.name': key,
        'q.attempt': 1,
        'q.redis.deliveries': 1,
      });
      expect(p.attributes['messaging.message.id']).toMatch(/^\d+$/);
    }
    const ids = new Set(processes.map((p) => p.spanContext().spanId));
    expect(activeInHandler.every((id) => ids.has(id))).toBe(true);
    expect(await redis.llen(key)).toBe(0);
  });

  it('a batch handler gets one span per call, linked to the send span of every message, none its parent', async () => {
    exporter.reset();
    const key = `q-test:otel:${randomUUID()}`;
    const total = 24;
    await fill(key, total, 0);
    let consumed = 0;
    const queue = new Queue<RedisMessage>(
      redisListProducerFactory({ redis, key, blockTimeoutMs: 50, batchSize: 8 }),
      tracedConsumer(
        () => ({
          consume(): void {
            throw new Error('batches only');
          },
          async consumeBatch(ms: readonly RedisMessage[]) {
            await new Promise((r) => setImmediate(r));
            consumed += ms.length;
          },
        }),
        redisConsumerTracing(key, unwrapEnvelope),
      ),
      { producers: 1, consumers: 1, batchSize: 8, logger: silentLogger },
    );
    const done = queue.start();
    await until(() => consumed === total, 20_000, 'every message consumed');
    await queue.stop();
    await done;
    expect(consumed).toBe(total);

    const spans = exporter.getFinishedSpans();
    const sendIds = new Set(spans.filter((s) => s.kind === SpanKind.PRODUCER).map((s) => idOf(s.spanContext())));
    const batches = spans.filter((s) => s.kind === SpanKind.CONSUMER);
    expect(batches.length).toBeGreaterThanOrEqual(3);
    let counted = 0;
    const links = new Set<string>();
    for (const b of batches) {
      const n = b.attributes['messaging.batch.message_count'] as number;
      counted += n;
      expect(b.links.length).toBe(n);
      expect(b.parentSpanContext).toBeUndefined();
      for (const l of b.links) {
        links.add(idOf(l.context));
        expect(l.attributes?.['messaging.message.id']).toMatch(/^\d+$/);
      }
    }
    expect(counted).toBe(total);
    expect(links).toEqual(sendIds);
  });
});
