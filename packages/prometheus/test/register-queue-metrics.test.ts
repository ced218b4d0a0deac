import { fromIterable, type ProduceListener, type Pusher, Queue, type QueueStats, silentLogger } from '@q/core';
import { registerQueueMetrics } from '@q/prometheus';
import { Counter, type OpenMetricsContentType, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { parseExposition, sampleValue } from './support/exposition.js';

const numbers = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** A queue over `n` numbers whose handler fails every attempt for multiples of `failEvery` (0: never). */
function finiteQueue(name: string, n: number, options: { failEvery?: number; deadLetter?: Pusher<number> } = {}) {
  const { failEvery = 0, deadLetter } = options;
  return new Queue<number>(
    fromIterable(numbers(n)),
    () => ({
      async consume(m) {
        await new Promise((r) => setImmediate(r));
        if (failEvery > 0 && m % failEvery === 0) throw new Error(`no ${m}`);
      },
    }),
    { name, consumers: 4, retry: { attempts: 2, minDelayMs: 1, maxDelayMs: 2 }, deadLetter, logger: silentLogger },
  );
}

describe('registerQueueMetrics', () => {
  it('exports every stat of a queue under the conventional names, types and a queue label', async () => {
    const registry = new Registry();
    const queue = finiteQueue('orders', 200);
    queue.on('error', () => {});
    registerQueueMetrics(queue, { registry });
    await queue.start();

    const text = await registry.metrics();
    const families = parseExposition(text);
    const types = Object.fromEntries([...families.values()].map((f) => [f.name, f.type]));
    expect(types).toEqual({
      q_messages_produced_total: 'counter',
      q_messages_consumed_total: 'counter',
      q_messages_failed_total: 'counter',
      q_messages_dead_lettered_total: 'counter',
      q_messages_nacked_total: 'counter',
      q_handler_retries_total: 'counter',
      q_messages_in_flight: 'gauge',
      q_messages_buffered: 'gauge',
      q_messages_parked: 'gauge',
      q_queue_paused: 'gauge',
      q_producer_loops: 'gauge',
      q_consumer_loops: 'gauge',
      q_queue_state: 'gauge',
      q_handler_duration_seconds: 'histogram',
    });
    for (const f of families.values()) {
      expect(f.help.length, f.name).toBeGreaterThan(10);
      for (const s of f.samples) expect(s.labels.queue, s.name).toBe('orders');
    }
    const orders = { queue: 'orders' };
    expect(sampleValue(families, 'q_messages_produced_total', orders)).toBe(200);
    expect(sampleValue(families, 'q_messages_consumed_total', orders)).toBe(200);
    expect(sampleValue(families, 'q_messages_in_flight', orders)).toBe(0);
    expect(sampleValue(families, 'q_queue_state', { state: 'stopped' })).toBe(1);
    expect(sampleValue(families, 'q_queue_state', { state: 'running' })).toBe(0);

    const { latency } = queue.stats();
    expect(latency.count).toBeGreaterThan(0);
    expect(sampleValue(families, 'q_handler_duration_seconds_count', orders)).toBe(latency.count);
    expect(sampleValue(families, 'q_handler_duration_seconds_sum', orders)).toBeCloseTo(
      (latency.mean * latency.count) / 1000,
      6,
    );
    // The default buckets, 100 us to 10 s, then +Inf: cumulative, ending at the count.
    const buckets = (families.get('q_handler_duration_seconds')?.samples ?? []).filter(
      (x) => x.labels.le !== undefined,
    );
    const le = buckets.map((b) => b.labels.le as string);
    expect(le.join(' ')).toBe('0.0001 0.00025 0.0005 0.001 0.0025 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10 +Inf');
    const counts = buckets.map((b) => b.value);
    expect([...counts].sort((a, b) => a - b)).toEqual(counts);
    expect(counts.at(-1)).toBe(latency.count);
    expect(counts).toEqual([
      ...queue.latencyBuckets(le.slice(0, -1).map((x) => Number(x) * 1000)).cumulative,
      latency.count,
    ]);
  });

  it('counts failures, retries and dead letters as the queue does', async () => {
    const registry = new Registry();
    const dead: number[] = [];
    const withDeadLetter = finiteQueue('with-dlq', 100, {
      failEvery: 10,
      deadLetter: { name: () => 'memory', push: (m) => void dead.push(m) },
    });
    const without = finiteQueue('without-dlq', 100, { failEvery: 25 });
    for (const q of [withDeadLetter, without]) {
      q.on('error', () => {});
      registerQueueMetrics(q, { registry });
    }
    await Promise.all([withDeadLetter.start(), without.start()]);

    const families = parseExposition(await registry.metrics());
    const a = { queue: 'with-dlq' };
    const b = { queue: 'without-dlq' };
    expect(dead).toHaveLength(10);
    expect(sampleValue(families, 'q_messages_dead_lettered_total', a)).toBe(10);
    expect(sampleValue(families, 'q_messages_failed_total', a)).toBe(0);
    expect(sampleValue(families, 'q_handler_retries_total', a)).toBe(10);
    expect(sampleValue(families, 'q_messages_consumed_total', a)).toBe(90);
    expect(sampleValue(families, 'q_messages_failed_total', b)).toBe(4);
    expect(sampleValue(families, 'q_messages_dead_lettered_total', b)).toBe(0);
    expect(sampleValue(families, 'q_handler_retries_total', b)).toBe(4);
    expect(sampleValue(families, 'q_messages_consumed_total', b)).toBe(96);
  });

  it('shows a running queue live: in flight, paused, loops, state', async () => {
    const registry = new Registry();
    const listeners: ProduceListener[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let sent = 0;
    const queue = new Queue<number>(
      () => ({
        addListener: (l) => listeners.push(l),
        produce: () => (sent < 3 ? sent++ : undefined),
      }),
      () => ({ consume: () => gate }),
      { name: 'live', producers: 2, consumers: 3, logger: silentLogger },
    );
    registerQueueMetrics(queue, { registry, prefix: 'app_' });
    const done = queue.start();
    await until(() => queue.stats().inFlight === 3 && listeners.length === 2, 10_000, 'three messages in flight');
    const live = { queue: 'live' };
    let families = parseExposition(await registry.metrics());
    expect(sampleValue(families, 'app_messages_in_flight', live)).toBe(3);
    expect(sampleValue(families, 'app_producer_loops', live)).toBe(2);
    expect(sampleValue(families, 'app_consumer_loops', live)).toBe(3);
    expect(sampleValue(families, 'app_queue_state', { state: 'running' })).toBe(1);
    expect(sampleValue(families, 'app_queue_paused', live)).toBe(0);

    for (const l of listeners) l.onProducerPause();
    families = parseExposition(await registry.metrics());
    expect(sampleValue(families, 'app_queue_paused', live)).toBe(1);
    for (const l of listeners) l.onProducerResume();
    families = parseExposition(await registry.metrics());
    expect(sampleValue(families, 'app_queue_paused', live)).toBe(0);

    release();
    await queue.stop();
    await done;
    families = parseExposition(await registry.metrics());
    expect(sampleValue(families, 'app_messages_consumed_total', live)).toBe(3);
    expect(sampleValue(families, 'app_messages_in_flight', live)).toBe(0);
  });

  it('reads stats() once per queue per scrape, so the series of one scrape agree', async () => {
    const registry = new Registry();
    let calls = 0;
    let produced = 0;
    const source = {
      name: 'counting',
      stats(): QueueStats {
        calls++;
        produced += 5;
        return {
          ...new Queue(
            () => ({ produce: () => undefined }),
            () => ({ consume() {} }),
          ).stats(),
          produced,
        };
      },
    };
    registerQueueMetrics(source, { registry });
    const first = parseExposition(await registry.metrics());
    expect(calls).toBe(1);
    expect(sampleValue(first, 'q_messages_produced_total', {})).toBe(5);
    const second = parseExposition(await registry.metrics());
    expect(calls).toBe(2);
    expect(sampleValue(second, 'q_messages_produced_total', {})).toBe(10);
  });

  it('serves several queues from one registry, each once, until unregistered', async () => {
    const registry = new Registry();
    const a = finiteQueue('a', 10);
    const b = finiteQueue('b', 20);
    const ha = registerQueueMetrics(a, { registry });
    const hb = registerQueueMetrics(b, { registry });
    expect(ha.labels).toEqual({ queue: 'a' });
    expect(ha.names).toContain('q_messages_consumed_total');
    await Promise.all([a.start(), b.start()]);
    let families = parseExposition(await registry.metrics());
    expect(sampleValue(families, 'q_messages_consumed_total', { queue: 'a' })).toBe(10);
    expect(sampleValue(families, 'q_messages_consumed_total', { queue: 'b' })).toBe(20);

    ha.unregister();
    ha.unregister(); // a second call does nothing
    families = parseExposition(await registry.metrics());
    expect(families.get('q_messages_consumed_total')?.samples.map((s) => s.labels.queue)).toEqual(['b']);

    // The name is free again; the last one out takes the metrics out of the registry.
    const again = registerQueueMetrics(a, { registry });
    hb[Symbol.dispose]();
    again.unregister();
    expect(await registry.metrics()).toBe('\n');
    expect(registry.getSingleMetric('q_messages_consumed_total')).toBeUndefined();
  });

  it('tells apart queues of one name by their labels (the members of a KafkaQueue)', async () => {
    const registry = new Registry();
    const members = [finiteQueue('kafka:group', 3), finiteQueue('kafka:group', 4)];
    members.forEach((q, i) => {
      registerQueueMetrics(q, { registry, labels: { member: String(i) } });
    });
    const renamed = registerQueueMetrics(finiteQueue('kafka:group', 5), {
      registry,
      name: 'renamed',
      labels: { member: '0' },
    });
    expect(renamed.labels).toEqual({ queue: 'renamed', member: '0' });
    await Promise.all(members.map((q) => q.start()));
    const families = parseExposition(await registry.metrics());
    expect(sampleValue(families, 'q_messages_consumed_total', { queue: 'kafka:group', member: '0' })).toBe(3);
    expect(sampleValue(families, 'q_messages_consumed_total', { queue: 'kafka:group', member: '1' })).toBe(4);
    expect(sampleValue(families, 'q_messages_consumed_total', { queue: 'renamed' })).toBe(0);
  });

  it('writes OpenMetrics too, and the global registry by default', async () => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const queue = finiteQueue('open', 7);
    registerQueueMetrics(queue, { registry });
    await queue.start();
    const text = await registry.metrics();
    expect(text.endsWith('# EOF\n')).toBe(true);
    expect(text).toContain('# TYPE q_messages_consumed counter');
    const families = parseExposition(text);
    expect(sampleValue(families, 'q_messages_consumed_total', { queue: 'open' })).toBe(7);

    const { register } = await import('prom-client');
    const global = registerQueueMetrics(queue, { prefix: 'q_test_global_' });
    try {
      expect(register.getSingleMetric('q_test_global_messages_consumed_total')).toBeDefined();
    } finally {
      global.unregister();
    }
    expect(register.getSingleMetric('q_test_global_messages_consumed_total')).toBeUndefined();
  });

  it('registers again after registry.clear()', async () => {
    const registry = new Registry();
    const queue = finiteQueue('cleared', 2);
    registerQueueMetrics(queue, { registry });
    registry.clear();
    expect(registry.getSingleMetric('q_messages_consumed_total')).toBeUndefined();
    registerQueueMetrics(finiteQueue('other', 1), { registry });
    await queue.start();
    const families = parseExposition(await registry.metrics());
    // Both queues are in the family; the cleared one was never unregistered.
    expect(sampleValue(families, 'q_messages_consumed_total', { queue: 'cleared' })).toBe(2);
    expect(sampleValue(families, 'q_messages_consumed_total', { queue: 'other' })).toBe(0);
  });

  it('leaves a metric of the same name it did not make alone', () => {
    const registry = new Registry();
    const mine = new Counter({ name: 'q_messages_failed_total', help: 'mine', registers: [registry] });
    expect(() => registerQueueMetrics(finiteQueue('x', 1), { registry })).toThrow(
      expect.objectContaining({ code: 'Q_METRIC_NAME_TAKEN', metric: 'q_messages_failed_total' }),
    );
    // A refusal registers nothing.
    expect(registry.getMetricsAsArray()).toEqual([mine]);
    expect(() => registerQueueMetrics(finiteQueue('x', 1), { registry, prefix: 'other_' })).not.toThrow();
  });
});
