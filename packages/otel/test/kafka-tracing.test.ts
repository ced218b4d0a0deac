import { randomUUID } from 'node:crypto';
import {
  context,
  createTraceState,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { silentLogger } from '@q/core';
import { type KafkaMessage, KafkaPusher, KafkaQueue } from '@q/kafka';
import { startKafkaBroker } from '@q/kafka-testkit';
import { kafkaConsumerTracing, kafkaProducerTracing, tracedHandler, tracedPusher, traceHeaders } from '@q/otel';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { idOf, installTracing, linkedTo, parentOf } from './support/tracing.js';

const exporter = installTracing();

describe('tracing across a real Kafka broker (testkit broker, kafkajs)', () => {
  it('producer and consumer spans are linked through traceparent/tracestate headers; a retry is a second attempt span', async () => {
    await using broker = await startKafkaBroker();
    const topic = `otel-${randomUUID()}`;
    const group = `g-${randomUUID()}`;
    const admin = new Kafka({ clientId: 'otel-test', brokers: broker.bootstrap, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();

    // The producer side: a send span per push, the pusher's hook writing its context into the headers.
    const pusher = new KafkaPusher({
      brokers: broker.bootstrap,
      topic,
      flushIntervalMs: 5,
      traceHeaders: traceHeaders(),
    });
    const traced = tracedPusher(pusher, kafkaProducerTracing(topic));
    const total = 40;
    // The caller's context carries a vendor tracestate, which the W3C propagator must carry too.
    const caller = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: 'a'.repeat(32),
      spanId: 'b'.repeat(16),
      traceFlags: TraceFlags.SAMPLED,
      traceState: createTraceState('q=vendor'),
      isRemote: true,
    });
    await context.with(caller, () =>
      Promise.all(
        Array.from({ length: total }, (_, i) =>
          traced.pushAndConfirm({ key: Buffer.from(`k${i % 5}`), value: Buffer.from(i === 7 ? 'fail-once' : `m${i}`) }),
        ),
      ),
    );
    await pusher.close();

    // The consumer side: a process span per handler call.
    const seen = new Map<string, number>();
    const calls: string[] = [];
    const workParents: string[] = [];
    let failed = false;
    const handler = async (m: KafkaMessage): Promise<void> => {
      const value = String(m.value);
      calls.push(value);
      // The handler runs inside its span: its own spans are children of it.
      workParents.push(trace.getActiveSpan()?.spanContext().spanId ?? 'none');
      trace.getTracer('app').startSpan('work').end();
      await new Promise((r) => setImmediate(r));
      if (value === 'fail-once' && !failed) {
        failed = true;
        throw new Error('boom');
      }
      seen.set(value, (seen.get(value) ?? 0) + 1);
    };
    const queue = new KafkaQueue(
      {
        brokers: broker.bootstrap,
        group,
        topic,
        offset: 'first',
        maxWaitMs: 50,
        commitIntervalMs: 50,
        retry: { attempts: 3, minDelayMs: 1, maxDelayMs: 5 },
        logger: silentLogger,
      },
      tracedHandler(handler, kafkaConsumerTracing({ group })),
    );
    const done = queue.start();
    await until(() => seen.size === total, 30_000, 'every message consumed');
    await queue.stop();
    await done;

    // End to end: every message handled once successfully, one extra call for the retry.
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(calls.length).toBe(total + 1);

    const spans = exporter.getFinishedSpans();
    const sends = spans.filter((s) => s.kind === SpanKind.PRODUCER);
    const processes = spans.filter((s) => s.kind === SpanKind.CONSUMER);
    expect(sends.length).toBe(total);
    expect(processes.length).toBe(total + 1);

    for (const send of sends) {
      expect(send.name).toBe(`send ${topic}`);
      expect(send.attributes).toMatchObject({
        'messaging.system': 'kafka',
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'send',
        'messaging.destination.name': topic,
      });
      // A child of the caller's context, in its trace.
      expect(send.spanContext().traceId).toBe('a'.repeat(32));
      expect(send.parentSpanContext?.spanId).toBe('b'.repeat(16));
    }
    const sendIds = new Set(sends.map((s) => idOf(s.spanContext())));
    const linkedSends = new Set<string>();
    for (const p of processes) {
      expect(p.name).toBe(`process ${topic}`);
      // Linked to its own producer span, and a child of it: one trace from send to process.
      expect(sendIds.has(linkedTo(p))).toBe(true);
      expect(parentOf(p)).toBe(linkedTo(p));
      expect(p.spanContext().traceId).toBe('a'.repeat(32));
      expect(p.links[0]?.context.traceState?.get('q')).toBe('vendor');
      linkedSends.add(linkedTo(p));
      expect(p.attributes).toMatchObject({
        'messaging.system': 'kafka',
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'messaging.destination.name': topic,
        'messaging.consumer.group.name': group,
      });
      expect(['0', '1']).toContain(p.attributes['messaging.destination.partition.id']);
      expect(typeof p.attributes['messaging.kafka.offset']).toBe('number');
      expect(p.attributes['messaging.kafka.message.key']).toMatch(/^k[0-4]$/);
    }
    // Every send reached a consumer span.
    expect(linkedSends.size).toBe(total);

    // The retried message: two attempt spans of the same producer, the first failed with its exception.
    const failedSpan = processes.find((p) => p.status.code === SpanStatusCode.ERROR);
    expect(failedSpan?.attributes['messaging.message.body.size']).toBe('fail-once'.length);
    const attempts = processes.filter((p) => linkedTo(p) === linkedTo(failedSpan ?? p));
    const [first, second] = [...attempts].sort(
      (a, b) => Number(a.attributes['q.attempt']) - Number(b.attributes['q.attempt']),
    );
    expect(attempts.length).toBe(2);
    expect(first?.attributes['q.attempt']).toBe(1);
    expect(first?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'boom' });
    expect(first?.attributes['error.type']).toBe('Error');
    const exception = first?.events.find((e) => e.name === 'exception');
    expect(exception?.attributes?.['exception.message']).toBe('boom');
    expect(second?.attributes['q.attempt']).toBe(2);
    expect(second?.status.code).toBe(SpanStatusCode.UNSET);
    expect(processes.filter((p) => p.status.code === SpanStatusCode.ERROR).length).toBe(1);
    expect(processes.filter((p) => p.attributes['q.attempt'] === 1).length).toBe(total);

    // The handler's own spans are children of its attempt span.
    const works = spans.filter((s) => s.name === 'work');
    expect(works.length).toBe(total + 1);
    const processIds = new Set(processes.map((p) => p.spanContext().spanId));
    for (const w of works) expect(processIds.has(w.parentSpanContext?.spanId ?? '')).toBe(true);
    expect(workParents.every((id) => processIds.has(id))).toBe(true);
  });
});
