import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Consumer } from '@q/core';
import { type KafkaMessage, KafkaPusher, KafkaQueue } from '@q/kafka';
import { startKafkaBroker } from '@q/kafka-testkit';
import { Kafka, logLevel } from 'kafkajs';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { httpConsumerFactory } from '../src/deliverer/queue-consumer.js';
import { type DeadLetter, DeadLetters } from '../src/delivery/dead-letters.js';
import { DeliveryEngine } from '../src/delivery/delivery-engine.js';
import type { DeliveryItem } from '../src/delivery/types.js';
import { startTarget, tempDir } from './deliverer-target.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('httpConsumerFactory over a KafkaQueue (test broker)', () => {
  it('delivers every Kafka message once or more, or dead-letters it with its cause; headers and ids as from a log; per-key order holds', async () => {
    const tmp = await tempDir('q-http-kafka-');
    cleanups.push(() => tmp.remove());
    const broker = await startKafkaBroker({ brokers: 1 });
    cleanups.push(() => broker.stop());
    const kafka = new Kafka({ clientId: 'q-http-test', brokers: broker.bootstrap, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const topic = `http-${randomUUID()}`;
    cleanups.push(() => admin.disconnect());
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: true });

    const faults = { fail500: 0.1, hang: 0.02, reject400: 0.01, throttle429: 0.01 };
    const target = await startTarget({ seed: 42, faults: (path) => (path === '/warm' ? {} : faults) });
    cleanups.push(() => target.close());
    await (await request(target.url('/warm'), { method: 'POST', body: '{}' })).body.dump();

    const total = 2_000;
    const pusher = new KafkaPusher({ brokers: broker.bootstrap, topic, flushIntervalMs: 5 });
    await pusher.pushBatch(
      Array.from({ length: total }, (_, n) => ({
        key: n % 3 === 0 ? Buffer.from(`k${n % 40}`) : null,
        value: Buffer.from(JSON.stringify({ n })),
        headers: { traceparent: `00-${n.toString(16).padStart(32, '0')}-00f067aa0ba902b7-01` },
      })),
    );
    await pusher.close();

    const deadLetters = await DeadLetters.open({ dir: join(tmp.dir, 'dead-letter') });
    cleanups.push(() => deadLetters.close());
    const engine = new DeliveryEngine({
      deadLetters,
      concurrency: 32,
      timeoutMs: 300,
      retry: { maxAttempts: 30, minDelayMs: 5, maxDelayMs: 2_000, factor: 2 },
      circuit: { failureThreshold: 1_000, openMs: 100 },
    });
    cleanups.push(() => engine.close());
    const timedOut = new Set<string>();
    engine.on('retry', (item, info) => {
      if (info.cause.startsWith('timeout')) timedOut.add(item.id);
    });
    const toItem = (m: KafkaMessage): DeliveryItem => ({
      id: `kafka_${m.partition}_${m.offset}`,
      url: target.url('/kafka'),
      body: m.value ?? Buffer.alloc(0),
      key: m.key === null ? undefined : m.key.toString(),
      headers: { traceparent: String(m.headers.traceparent) },
      acceptedAt: Number(m.timestamp),
    });
    const consumer = (await httpConsumerFactory({ engine, toItem })()) as Consumer<KafkaMessage>;
    const queue = new KafkaQueue(
      {
        brokers: broker.bootstrap,
        group: `g-${randomUUID()}`,
        topic,
        offset: 'first',
        ordering: 'key',
        processors: 64,
        commitIntervalMs: 50,
        maxWaitMs: 50,
        forceCommit: false,
      },
      consumer,
    );
    const running = queue.start();
    cleanups.push(async () => {
      await queue.stop({ timeoutMs: 1_000 });
      await running.catch(() => undefined);
    });
    const finished = () => engine.stats().delivered + engine.stats().deadLettered;
    await until(() => finished() >= total, 50_000, 'every message finished');
    await queue.stop();
    await running;
    // Every partition committed to its end: every message was settled once its delivery finished.
    const ends = await admin.fetchTopicOffsets(topic);
    for (const { partition, high } of ends) {
      const committed = queue.committed().find((c) => c.partition === partition && c.offset !== undefined);
      expect(committed?.offset).toBe(BigInt(high));
    }

    const dead: DeadLetter[] = [];
    for (let from = 0; dead.length < deadLetters.count; ) {
      const page = await deadLetters.list({ from, max: 500 });
      if (page.length === 0) break;
      dead.push(...page);
      from = (page[page.length - 1] as DeadLetter).seq + 1;
    }
    const deadIds = new Set(dead.map((d) => d.item.id));
    for (const d of dead) {
      expect(d.reason).toBe('rejected');
      expect(d.status).toBe(400);
      expect(d.cause).toBe('HTTP 400');
      expect(d.item.headers?.traceparent).toMatch(/^00-/);
    }
    const byId = new Map<string, number>();
    const received = target.received.filter((r) => r.path !== '/warm');
    for (const r of received) {
      const n = (JSON.parse(r.body) as { n: number }).n;
      expect(r.traceparent).toBe(`00-${n.toString(16).padStart(32, '0')}-00f067aa0ba902b7-01`);
      expect(r.idempotencyKey).toBe(r.id);
      expect(r.id).toMatch(/^kafka_\d+_\d+$/);
      byId.set(r.id as string, n);
    }
    // Each message (by its value) got one stable id, and ended delivered or dead-lettered.
    const ids = [...new Set([...byId.keys(), ...deadIds])];
    expect(new Set(ids.map((id) => byId.get(id) ?? -1)).size).toBe(ids.length);
    expect(ids.length).toBe(total);
    expect(new Set(byId.values()).size).toBe(total);
    // More than one outcome (two 2xx, or a 2xx and a dead letter) only for an id whose attempt timed out:
    // the target answered after the deadline. How many time out depends on the machine's load (300 ms).
    for (const id of ids) {
      const outcomes = target.okCount(id) + (deadIds.has(id) ? 1 : 0);
      expect(outcomes).toBeGreaterThanOrEqual(1);
      if (outcomes > 1) expect(timedOut.has(id)).toBe(true);
      const processed = received.filter((r) => r.id === id && (r.fault === 'ok' || r.fault === 'hang')).length;
      if (processed > 1) expect(timedOut.has(id)).toBe(true);
    }
    // Per key, the 2xx answers come in offset order. An attempt that timed out may still be answered by
    // the target after the key's next message started (HTTP cannot take a request back): those are left out.
    const last = new Map<string, number>();
    for (const r of received) {
      if (r.fault !== 'ok' || timedOut.has(r.id as string)) continue;
      const n = byId.get(r.id as string) as number;
      if (n % 3 !== 0) continue;
      const key = `k${n % 40}`;
      const offset = Number((r.id as string).split('_')[2]);
      expect(offset).toBeGreaterThanOrEqual(last.get(key) ?? -1);
      last.set(key, offset);
    }
  }, 60_000);
});
