import { InvalidOptionError, Queue, QueueError } from '@q/core';
import {
  DuplicateQueueMetricsError,
  type QueueMetricsOptions,
  type QueueMetricsSource,
  registerQueueMetrics,
} from '@q/prometheus';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';

const queue = (name = 'orders'): Queue<number> =>
  new Queue<number>(
    () => ({ produce: () => undefined }),
    () => ({ consume() {} }),
    { name },
  );

/** The error `register()` throws (fails the test when it does not throw). */
function thrown(register: () => unknown): unknown {
  try {
    register();
  } catch (error) {
    return error;
  }
  throw new Error('registerQueueMetrics did not throw');
}

describe('registerQueueMetrics options', () => {
  it.each<[string, unknown, string]>([
    ['registry', { registry: {} }, 'a prom-client Registry'],
    ['prefix', { prefix: '1q_' }, 'a string of letters'],
    ['prefix', { prefix: 'q-' }, 'a string of letters'],
    ['prefix', { prefix: 7 }, 'a string of letters'],
    ['name', { name: '' }, 'a non-empty string'],
    ['labels', { labels: ['member'] }, 'an object of label names'],
    ['labels.queue', { labels: { queue: 'x' } }, 'other than queue, state, quantile and le'],
    ['labels.le', { labels: { le: 'x' } }, 'other than queue'],
    ['labels.__name', { labels: { __name: 'x' } }, 'not starting with a digit or "__"'],
    ['labels.9lives', { labels: { '9lives': 'x' } }, 'a label name'],
    ['labels.member', { labels: { member: 1 } }, 'a string'],
    ['options', 'q_', 'an object or undefined'],
    ['durations', { durations: 'gauge' }, '"histogram" or "summary"'],
    ['buckets', { buckets: [] }, 'a non-empty array'],
    ['buckets', { buckets: 0.1 }, 'a non-empty array'],
    ['buckets', { buckets: [0, 1] }, 'above 0'],
    ['buckets', { buckets: [-1] }, 'above 0'],
    ['buckets', { buckets: [0.1, 0.1] }, 'strictly ascending'],
    ['buckets', { buckets: [1, 0.5] }, 'strictly ascending'],
    ['buckets', { buckets: [0.1, Number.POSITIVE_INFINITY] }, 'finite'],
    ['buckets', { buckets: [Number.NaN] }, 'finite'],
    ['buckets', { buckets: ['0.1'] }, 'numbers'],
    ['buckets', { durations: 'summary', buckets: [0.1] }, 'a summary has no buckets'],
  ])('%s: %j is refused with an InvalidOptionError naming it', (option, options, allowed) => {
    const error = thrown(() => registerQueueMetrics(queue(), options as QueueMetricsOptions));
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error).toMatchObject({ code: 'Q_INVALID_OPTION', option });
    expect((error as InvalidOptionError).allowed).toContain(allowed);
  });

  it('refuses something that is not a queue, and a queue without a name', () => {
    expect(thrown(() => registerQueueMetrics({} as QueueMetricsSource))).toMatchObject({ option: 'queue' });
    expect(thrown(() => registerQueueMetrics(null as unknown as QueueMetricsSource))).toMatchObject({
      option: 'queue',
    });
    const nameless = { name: '', stats: () => queue().stats() };
    expect(thrown(() => registerQueueMetrics(nameless, { registry: new Registry() }))).toMatchObject({
      option: 'queue.name',
    });
  });

  it('refuses a second registration of the same labels with a typed error', () => {
    const registry = new Registry();
    registerQueueMetrics(queue('orders'), { registry });
    const error = thrown(() => registerQueueMetrics(queue('orders'), { registry }));
    expect(error).toBeInstanceOf(DuplicateQueueMetricsError);
    expect(error).toBeInstanceOf(QueueError);
    expect(error).toMatchObject({
      code: 'Q_DUPLICATE_QUEUE_METRICS',
      queue: 'orders',
      labels: { queue: 'orders' },
    });
    expect((error as Error).message).toContain('"orders"');
    // Another registry, or another prefix, is another set of series.
    expect(() => registerQueueMetrics(queue('orders'), { registry: new Registry() })).not.toThrow();
    expect(() => registerQueueMetrics(queue('orders'), { registry, prefix: 'b_' })).not.toThrow();
  });

  it('asks every queue of a registry and prefix for the same label names', () => {
    const registry = new Registry();
    registerQueueMetrics(queue('a'), { registry, labels: { member: '0' } });
    expect(thrown(() => registerQueueMetrics(queue('b'), { registry }))).toMatchObject({
      code: 'Q_INVALID_OPTION',
      option: 'labels',
      allowed: expect.stringContaining('labels named member'),
    });
    expect(
      thrown(() => registerQueueMetrics(queue('b'), { registry, labels: { member: '0', zone: 'x' } })),
    ).toMatchObject({ option: 'labels' });
    expect(() => registerQueueMetrics(queue('b'), { registry, labels: { member: '1' } })).not.toThrow();
  });
});

describe('registerQueueMetrics durations and buckets', () => {
  it('are fixed for a registry and prefix by the first registration', () => {
    const registry = new Registry();
    registerQueueMetrics(queue('a'), { registry });
    expect(thrown(() => registerQueueMetrics(queue('b'), { registry, durations: 'summary' }))).toMatchObject({
      code: 'Q_INVALID_OPTION',
      option: 'durations',
      allowed: expect.stringContaining('"histogram", like the queues registered before'),
    });
    const error = thrown(() => registerQueueMetrics(queue('b'), { registry, buckets: [0.001, 1] }));
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error).toMatchObject({ option: 'buckets', allowed: expect.stringContaining('[0.0001, 0.00025,') });
    // The defaults spelled out are the same buckets; another prefix is another family.
    const defaults = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    expect(() =>
      registerQueueMetrics(queue('b'), { registry, buckets: defaults, durations: 'histogram' }),
    ).not.toThrow();
    expect(() => registerQueueMetrics(queue('c'), { registry, prefix: 's_', durations: 'summary' })).not.toThrow();
    expect(thrown(() => registerQueueMetrics(queue('d'), { registry, prefix: 's_' }))).toMatchObject({
      option: 'durations',
      allowed: expect.stringContaining('"summary"'),
    });
    expect(() => registerQueueMetrics(queue('d'), { registry, prefix: 's_', durations: 'summary' })).not.toThrow();
  });

  it('refit once the last queue of the family is unregistered', () => {
    const registry = new Registry();
    const first = registerQueueMetrics(queue('a'), { registry, buckets: [0.5] });
    first.unregister();
    expect(() => registerQueueMetrics(queue('a'), { registry, buckets: [0.25, 1] })).not.toThrow();
    expect(registry.getSingleMetric('q_handler_duration_seconds')).toMatchObject({ type: 'histogram' });
  });
});
