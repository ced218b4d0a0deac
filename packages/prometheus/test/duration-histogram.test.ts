import { setTimeout as sleep } from 'node:timers/promises';
import { fromIterable, Queue, silentLogger } from '@q/core';
import { registerQueueMetrics } from '@q/prometheus';
import { type OpenMetricsContentType, Registry } from 'prom-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ExpositionFamily, parseExposition, sampleValue } from './support/exposition.js';

const FAST = 20;
const SLOW = 20;
const SLOW_MS = 300;

/** Keeps the handler busy for at least `ms` (a timer alone may fire early on a stale loop clock). */
async function hold(ms: number): Promise<void> {
  const started = performance.now();
  if (ms > 5) await sleep(ms);
  while (performance.now() - started < ms) {
    // spin the rest: the queue must time at least `ms`
  }
}

/**
 * A finished queue whose handler held even messages ~1 ms and odd ones ~300 ms. The gap is wide on
 * purpose: on a loaded 2-core CI runner a 1 ms call was once held up past 25 ms by preemption.
 */
async function ranQueue(): Promise<Queue<number>> {
  const queue = new Queue<number>(
    fromIterable(Array.from({ length: FAST + SLOW }, (_, i) => i)),
    () => ({ consume: (m) => hold(m % 2 === 0 ? 1 : SLOW_MS) }),
    { name: 'timed', consumers: 4, logger: silentLogger },
  );
  await queue.start();
  return queue;
}

/** The `le` labels and cumulative counts of the one queue's `_bucket` series, in exposition order. */
function buckets(families: Map<string, ExpositionFamily>, name = 'q_handler_duration_seconds') {
  const samples = families.get(name)?.samples.filter((s) => s.name === `${name}_bucket`) ?? [];
  return samples.map((s) => [s.labels.le as string, s.value] as const);
}

describe('handler durations as a histogram (the default)', () => {
  let queue: Queue<number>;
  beforeAll(async () => {
    queue = await ranQueue();
  }, 60_000);

  it('exports cumulative buckets read from the queue, +Inf equal to _count and to the queue latency count', async () => {
    const registry = new Registry();
    registerQueueMetrics(queue, { registry });
    const text = await registry.metrics();
    const families = parseExposition(text);
    expect(families.get('q_handler_duration_seconds')?.type).toBe('histogram');
    expect(text).toContain('q_handler_duration_seconds_bucket{queue="timed",le="0.0001"} ');

    const series = buckets(families);
    expect(series.map(([le]) => le)).toEqual([
      ...['0.0001', '0.00025', '0.0005', '0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1'],
      ...['0.25', '0.5', '1', '2.5', '5', '10', '+Inf'],
    ]);
    const counts = series.map(([, n]) => n);
    expect([...counts].sort((a, b) => a - b)).toEqual(counts);
    const at = Object.fromEntries(series);

    // Every call held at least 1 ms, so none is under 50 us (sampled): the queue timed all 40.
    const { latency } = queue.stats();
    expect(latency.count).toBe(FAST + SLOW);
    expect(at['+Inf']).toBe(latency.count);
    expect(sampleValue(families, 'q_handler_duration_seconds_count', { queue: 'timed' })).toBe(latency.count);
    expect(sampleValue(families, 'q_handler_duration_seconds_sum', { queue: 'timed' })).toBeCloseTo(
      (latency.mean * latency.count) / 1000,
      6,
    );
    // Around the two durations: none under 0.5 ms (its histogram bucket, 496-511 us, holds no call of
    // 1 ms or more), the fast half at 250 ms (a 1 ms call would have to be held up ~250 ms to miss it;
    // the bucket around 250 ms ends well below 300 ms, so no slow call is spread into it), the slow half above.
    expect(at['0.0005']).toBe(0);
    expect(at['0.025']).toBeLessThanOrEqual(FAST);
    expect(at['0.25']).toBe(FAST);
    expect(at['10']).toBe(FAST + SLOW);
    expect(queue.latencyBuckets([0.5, 250])).toMatchObject({ cumulative: [0, FAST], count: FAST + SLOW });
  });

  it('takes buckets in seconds, and writes OpenMetrics', async () => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    registerQueueMetrics(queue, { registry, prefix: 'om_', buckets: [0.0009, 0.25, 60] });
    const families = parseExposition(await registry.metrics());
    expect(buckets(families, 'om_handler_duration_seconds')).toEqual([
      ['0.0009', 0],
      ['0.25', FAST],
      ['60', FAST + SLOW],
      ['+Inf', FAST + SLOW],
    ]);
  });

  it('adds up across queues: one histogram per queue label, summed by le in PromQL', async () => {
    const registry = new Registry();
    const other = await ranQueue();
    registerQueueMetrics(queue, { registry, name: 'a' });
    registerQueueMetrics(other, { registry, name: 'b' });
    const families = parseExposition(await registry.metrics());
    for (const name of ['a', 'b']) {
      expect(sampleValue(families, 'q_handler_duration_seconds_bucket', { queue: name, le: '0.25' })).toBe(FAST);
      expect(sampleValue(families, 'q_handler_duration_seconds_bucket', { queue: name, le: '+Inf' })).toBe(FAST + SLOW);
    }
  }, 60_000);

  it('gives a source without latencyBuckets only the +Inf bucket, _sum and _count', async () => {
    const registry = new Registry();
    registerQueueMetrics({ name: 'plain', stats: () => queue.stats() }, { registry });
    const families = parseExposition(await registry.metrics());
    expect(buckets(families)).toEqual([['+Inf', FAST + SLOW]]);
    expect(sampleValue(families, 'q_handler_duration_seconds_count', {})).toBe(FAST + SLOW);
    expect(sampleValue(families, 'q_handler_duration_seconds_sum', {})).toBeGreaterThan(
      (FAST * 1 + SLOW * SLOW_MS) / 1000,
    );
  });

  it('reads the buckets in the same pass as stats(), so _count agrees with the stats of the scrape', async () => {
    const registry = new Registry();
    const calls: string[] = [];
    let count = 0;
    const source = {
      name: 'counting',
      stats() {
        calls.push('stats');
        count += 3; // a new count at every scrape: buckets must come from the same read
        const { latency, ...rest } = queue.stats();
        return { ...rest, latency: { ...latency, count } };
      },
      latencyBuckets(boundsMs: readonly number[]) {
        calls.push(`buckets ${boundsMs.length}`);
        return { boundsMs, cumulative: boundsMs.map(() => count), count, sumMs: count };
      },
    };
    registerQueueMetrics(source, { registry, buckets: [0.001, 1] });
    for (const expected of [3, 6]) {
      const families = parseExposition(await registry.metrics());
      expect(sampleValue(families, 'q_handler_duration_seconds_count', {})).toBe(expected);
      expect(sampleValue(families, 'q_handler_duration_seconds_bucket', { le: '+Inf' })).toBe(expected);
      expect(sampleValue(families, 'q_handler_duration_seconds_bucket', { le: '0.001' })).toBe(expected);
      expect(sampleValue(families, 'q_handler_duration_seconds_sum', {})).toBe(expected / 1000);
    }
    expect(calls).toEqual(['stats', 'buckets 2', 'stats', 'buckets 2']);
  });

  it("keeps the summary as an opt-in: durations: 'summary'", async () => {
    const registry = new Registry();
    registerQueueMetrics(queue, { registry, durations: 'summary' });
    const families = parseExposition(await registry.metrics());
    const family = families.get('q_handler_duration_seconds');
    expect(family?.type).toBe('summary');
    const { latency } = queue.stats();
    expect(sampleValue(families, 'q_handler_duration_seconds_count', {})).toBe(latency.count);
    const quantiles = [0.5, 0.9, 0.99, 0.999].map((q) =>
      sampleValue(families, 'q_handler_duration_seconds', { quantile: String(q) }),
    );
    expect(quantiles[0]).toBeCloseTo(latency.p50 / 1000, 6);
    expect(quantiles[3]).toBeCloseTo(latency.p999 / 1000, 6);
    expect(quantiles[3]).toBeGreaterThanOrEqual((SLOW_MS / 1000) * 0.94);
    expect(family?.samples.some((s) => s.labels.le !== undefined)).toBe(false);
  });
});
