import { InvalidOptionError } from '@q/core';
import type { Registry, RegistryContentType } from 'prom-client';
import { QueueMetricFamily } from './metric-family.js';
import {
  type QueueMetricsOptions,
  type QueueMetricsSource,
  type ResolvedQueueMetricsOptions,
  resolveQueueMetricsOptions,
} from './options.js';

/** What {@link registerQueueMetrics} returns: the queue's series, until `unregister()`. */
export interface QueueMetrics extends Disposable {
  /** The labels of this queue's series: `queue` and the `labels` option's. */
  readonly labels: Readonly<Record<string, string>>;
  /** The metric names, prefix included (shared with the other queues of the registry and prefix). */
  readonly names: readonly string[];
  /**
   * Removes this queue's series from the next scrapes; the last queue of a registry and prefix takes
   * the metrics out of the registry. A second call does nothing.
   */
  unregister(): void;
}

/** One family per registry and prefix, so queues sharing a registry share metric names. */
const families = new WeakMap<Registry<RegistryContentType>, Map<string, QueueMetricFamily>>();

/**
 * Exports a queue's stats to a prom-client registry: counters of messages produced, consumed, failed,
 * dead-lettered and nacked and of retries, gauges of messages in flight, buffered and parked, of
 * producer and consumer loops, of pause and of the lifecycle state, and a histogram of handler
 * durations in seconds (or a summary, with `durations: 'summary'`). Every series carries a `queue` label. The values are read from
 * `queue.stats()` when the registry is scraped, so there is nothing to do per message and no timer.
 *
 * Register each queue once; several queues on one registry share the metric names. Unregister a
 * queue you are done with: the registry keeps a reference to it until then.
 *
 * ```ts
 * const metrics = registerQueueMetrics(queue, { registry });
 * // serve `await registry.metrics()` on /metrics, with `registry.contentType`
 * metrics.unregister();
 * ```
 *
 * @throws {InvalidOptionError} for an invalid option, or `labels` names, `durations` or `buckets`
 *   that differ from those of the queues already registered on the registry with the prefix.
 * @throws {DuplicateQueueMetricsError} when a queue with the same labels is registered there already.
 * @throws {MetricNameTakenError} when the registry has a metric of one of the names that is not ours.
 */
export function registerQueueMetrics(queue: QueueMetricsSource, options?: QueueMetricsOptions): QueueMetrics {
  const o = resolveQueueMetricsOptions(queue, options);
  let byPrefix = families.get(o.registry);
  if (byPrefix === undefined) {
    byPrefix = new Map();
    families.set(o.registry, byPrefix);
  }
  let family = byPrefix.get(o.prefix);
  if (family === undefined) family = new QueueMetricFamily(o.registry, o.prefix, o);
  else checkShape(family, o, options);
  const key = family.add(queue, o.labels);
  byPrefix.set(o.prefix, family);
  const owner = family;
  const prefixes = byPrefix;
  let registered = true;
  const unregister = (): void => {
    if (!registered) return;
    registered = false;
    owner.remove(key);
    if (owner.size === 0 && prefixes.get(o.prefix) === owner) prefixes.delete(o.prefix);
  };
  return { labels: o.labels, names: family.names, unregister, [Symbol.dispose]: unregister };
}

/**
 * Queues sharing a registry and prefix share the metrics, so their label names, durations type and
 * buckets must be those of the first registration.
 */
function checkShape(
  family: QueueMetricFamily,
  o: ResolvedQueueMetricsOptions,
  options: QueueMetricsOptions | undefined,
): void {
  const before = `like the queues registered before on this registry with prefix "${o.prefix}"`;
  if (family.labelNames.join() !== ['queue', ...o.extraLabelNames].join()) {
    const names = family.labelNames.slice(1);
    throw new InvalidOptionError(
      'labels',
      options?.labels,
      `${names.length === 0 ? 'no labels' : `labels named ${names.join(', ')}`}, ${before}`,
    );
  }
  if (family.durations !== o.durations) {
    throw new InvalidOptionError('durations', options?.durations, `"${family.durations}", ${before}`);
  }
  if (family.buckets.join() !== o.buckets.join()) {
    throw new InvalidOptionError('buckets', options?.buckets, `[${family.buckets.join(', ')}], ${before}`);
  }
}
