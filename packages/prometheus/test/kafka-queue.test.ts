import { randomUUID } from 'node:crypto';
import { type KafkaMessage, KafkaPusher, KafkaQueue } from '@q/kafka';
import { startKafkaBroker } from '@q/kafka-testkit';
import { registerQueueMetrics } from '@q/prometheus';
import { Kafka, logLevel } from 'kafkajs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { parseExposition } from './support/exposition.js';

describe('a KafkaQueue (testkit broker, kafkajs)', () => {
  it('exports each member queue under a member label; the members add up to what the group consumed', async () => {
    await using broker = await startKafkaBroker();
    const topic = `metrics-${randomUUID()}`;
    const group = `g-${randomUUID()}`;
    const admin = new Kafka({
      clientId: 'metrics-test',
      brokers: broker.bootstrap,
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: true });
    await admin.disconnect();

    const total = 300;
    const pusher = new KafkaPusher({ brokers: broker.bootstrap, topic, flushIntervalMs: 5 });
    await Promise.all(Array.from({ length: total }, (_, i) => pusher.pushAndConfirm(`m${i}`)));
    await pusher.close();

    const seen = new Set<string>();
    const queue = new KafkaQueue(
      { brokers: broker.bootstrap, group, topic, offset: 'first', conns: 2, commitIntervalMs: 50, maxWaitMs: 50 },
      async (m: KafkaMessage) => {
        seen.add(String(m.value));
      },
    );
    const registry = new Registry();
    const handles = queue.queues.map((q, i) => registerQueueMetrics(q, { registry, labels: { member: String(i) } }));
    const running = queue.start();
    await until(() => seen.size === total, 60_000, `${total} distinct messages`);
    await queue.stop({ timeoutMs: 5000 });
    await running;

    const consumed = parseExposition(await registry.metrics()).get('q_messages_consumed_total')?.samples ?? [];
    expect(consumed.map((s) => s.labels)).toEqual([
      { queue: `kafka:${group}`, member: '0' },
      { queue: `kafka:${group}`, member: '1' },
    ]);
    // Exactly the members' own counts; a rebalance may deliver a message twice, never lose one.
    expect(consumed.map((s) => s.value)).toEqual(queue.stats().map((s) => s.consumed));
    expect(consumed.reduce((n, s) => n + s.value, 0)).toBeGreaterThanOrEqual(total);
    for (const h of handles) h.unregister();
    expect(await registry.metrics()).toBe('\n');
  }, 90_000);
});
