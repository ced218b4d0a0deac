import { redisProducerTracing, tracedPusher, traceSend } from '@q/otel';
import { InvalidMessageError, RedisListPusher, wrapEnvelope } from '@q/redis';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { installTracing } from './support/tracing.js';

const exporter = installTracing();
const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
afterAll(async () => {
  await redis.quit().catch(() => redis.disconnect());
});

describe('an inject hook that throws', () => {
  it('the send span still ends, failed, and the error is what the hook threw', () => {
    exporter.reset();
    const failure = new Error('cannot inject');
    const send = traceSend<string>({
      system: 'redis',
      destination: 'orders',
      inject: () => {
        throw failure;
      },
    });
    expect(() => send('m', () => undefined)).toThrow(failure);
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(['send orders']);
    expect(spans[0]?.status.code).toBe(2);
  });

  it('a message the Redis preset cannot envelope: rejected as the pusher rejects it untraced, its span ended', async () => {
    exporter.reset();
    const pusher = new RedisListPusher({ redis, key: 'q-test:otel:review-inject', flushIntervalMs: 5 });
    const traced = tracedPusher(pusher, redisProducerTracing('q-test:otel:review-inject', wrapEnvelope));
    const bad = 42 as unknown as string;
    await expect(pusher.pushAndConfirm(bad)).rejects.toBeInstanceOf(InvalidMessageError);
    let outcome: unknown;
    try {
      await traced.pushAndConfirm(bad);
    } catch (error) {
      outcome = error;
    }
    expect(outcome).toBeInstanceOf(InvalidMessageError);
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['send q-test:otel:review-inject']);
    await pusher.close();
  });
});
