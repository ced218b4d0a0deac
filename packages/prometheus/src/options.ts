import type { LatencyBuckets, QueueStats } from '@q/core';
import { InvalidOptionError } from '@q/core';
import { type Registry, type RegistryContentType, register } from 'prom-client';
import { DEFAULT_BUCKETS, RESERVED_LABELS } from './definitions.js';

/**
 * What {@link registerQueueMetrics} reads: a `Queue` of `@q/core`, or any object with its `stats()`
 * (and, for a histogram with buckets, its `latencyBuckets()`).
 */
export interface QueueMetricsSource {
  /** The queue's name: the `queue` label unless the `name` option says otherwise. */
  readonly name: string;
  /** A snapshot of the queue's counters, read at every scrape. */
  stats(): QueueStats;
  /**
   * Handler durations as cumulative counts at `boundsMs` (milliseconds, ascending), read at every
   * scrape right after `stats()` when durations are a histogram; its `count` should equal
   * `stats().latency.count`. Without it, the histogram has only its `le="+Inf"` bucket (the latency
   * count), `_sum` and `_count`: a mean, but no quantiles.
   */
  latencyBuckets?(boundsMs: readonly number[]): LatencyBuckets;
}

/** How handler durations are exported: see {@link QueueMetricsOptions.durations}. */
export type DurationsMetric = 'histogram' | 'summary';

/** Options of {@link registerQueueMetrics}. */
export interface QueueMetricsOptions {
  /**
   * The prom-client registry the metrics go to; serve its `metrics()` on `/metrics`. Prometheus or
   * OpenMetrics content type.
   * @default prom-client's global `register`
   */
  registry?: Registry<RegistryContentType>;
  /**
   * Prepended to every metric name: `q_messages_consumed_total`. Letters, digits, `_` and `:`, not
   * starting with a digit; may be empty.
   * @default 'q_'
   */
  prefix?: string;
  /**
   * The value of the `queue` label.
   * @default the queue's `name`
   */
  name?: string;
  /**
   * More labels with a constant value on every series of this queue, such as `{ member: '0' }` for
   * the queues of a `KafkaQueue`. Every queue registered on one registry with one prefix must use the
   * same label names. Names: letters, digits and `_`, not starting with a digit or `__`, and not
   * `queue`, `state`, `quantile` or `le`.
   * @default {}
   */
  labels?: Readonly<Record<string, string>>;
  /**
   * The type of `handler_duration_seconds`. A `'histogram'` has cumulative `_bucket{le}` counts at
   * {@link QueueMetricsOptions.buckets}, which add up across queues and instances
   * (`histogram_quantile()` over a `sum by (le)`); a `'summary'` has the quantiles 0.5, 0.9, 0.99 and
   * 0.999 of each queue, which do not. Fixed for a registry and prefix by the first registration.
   * @default 'histogram'
   */
  durations?: DurationsMetric;
  /**
   * The histogram's upper bounds in seconds: finite, above 0, strictly ascending, at least one
   * (`le="+Inf"` is always added). Counts are exact at the queue histogram's own bucket edges and
   * within about 6 % of the bound otherwise. Only with `durations: 'histogram'`; fixed for a registry
   * and prefix by the first registration.
   * @default [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
   */
  buckets?: readonly number[];
}

/** Options after validation: the registry, the prefix and every label of the queue's series. */
export interface ResolvedQueueMetricsOptions {
  readonly registry: Registry<RegistryContentType>;
  readonly prefix: string;
  /** `queue` first, then the `labels` option's names in sorted order. */
  readonly labels: Readonly<Record<string, string>>;
  /** The `labels` option's names, sorted. */
  readonly extraLabelNames: readonly string[];
  readonly durations: DurationsMetric;
  /** The histogram's bounds in seconds (a frozen copy); empty for a summary. */
  readonly buckets: readonly number[];
}

const PREFIX = /^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Validates the arguments of {@link registerQueueMetrics} and fills in the defaults.
 * @throws {InvalidOptionError} naming the first option (or the `queue` argument) that is invalid.
 */
export function resolveQueueMetricsOptions(
  queue: unknown,
  options: QueueMetricsOptions | undefined,
): ResolvedQueueMetricsOptions {
  if (queue === null || typeof queue !== 'object' || typeof (queue as QueueMetricsSource).stats !== 'function') {
    throw new InvalidOptionError('queue', queue, 'a Queue, or an object with a name and a stats() method');
  }
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
    throw new InvalidOptionError('options', options, 'an object or undefined');
  }
  const o = options ?? {};
  const registry = o.registry ?? register;
  if (!isRegistry(registry)) throw new InvalidOptionError('registry', registry, 'a prom-client Registry');
  const prefix = o.prefix ?? 'q_';
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
    throw new InvalidOptionError(
      'prefix',
      prefix,
      'a string of letters, digits, "_" and ":", not starting with a digit',
    );
  }
  const name = o.name ?? (queue as QueueMetricsSource).name;
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidOptionError(o.name === undefined ? 'queue.name' : 'name', name, 'a non-empty string');
  }
  const extra = o.labels ?? {};
  if (extra === null || typeof extra !== 'object' || Array.isArray(extra)) {
    throw new InvalidOptionError('labels', extra, 'an object of label names to string values');
  }
  const extraLabelNames = Object.keys(extra).sort();
  const labels: Record<string, string> = { queue: name };
  for (const label of extraLabelNames) {
    const value = extra[label];
    if (!LABEL.test(label) || label.startsWith('__') || RESERVED_LABELS.has(label)) {
      throw new InvalidOptionError(
        `labels.${label}`,
        label,
        'a label name of letters, digits and "_", not starting with a digit or "__", other than queue, state, quantile and le',
      );
    }
    if (typeof value !== 'string') throw new InvalidOptionError(`labels.${label}`, value, 'a string');
    labels[label] = value;
  }
  const durations = o.durations ?? 'histogram';
  if (durations !== 'histogram' && durations !== 'summary') {
    throw new InvalidOptionError('durations', durations, '"histogram" or "summary"');
  }
  return { registry, prefix, labels, extraLabelNames, durations, buckets: resolveBuckets(o.buckets, durations) };
}

function resolveBuckets(buckets: unknown, durations: DurationsMetric): readonly number[] {
  if (durations === 'summary') {
    if (buckets !== undefined) {
      throw new InvalidOptionError('buckets', buckets, 'undefined with durations "summary" (a summary has no buckets)');
    }
    return [];
  }
  if (buckets === undefined) return DEFAULT_BUCKETS;
  const allowed = 'a non-empty array of finite numbers of seconds above 0, strictly ascending';
  if (!Array.isArray(buckets) || buckets.length === 0) throw new InvalidOptionError('buckets', buckets, allowed);
  let previous = 0;
  for (const b of buckets as unknown[]) {
    if (typeof b !== 'number' || !Number.isFinite(b) || !(b > previous)) {
      throw new InvalidOptionError('buckets', buckets, allowed);
    }
    previous = b;
  }
  return Object.freeze([...(buckets as number[])]);
}

/** Duck-typed: a registry of another copy of prom-client works as well. */
function isRegistry(value: unknown): value is Registry<RegistryContentType> {
  if (value === null || typeof value !== 'object') return false;
  const r = value as Partial<Record<'registerMetric' | 'getSingleMetric' | 'removeSingleMetric', unknown>>;
  return (
    typeof r.registerMetric === 'function' &&
    typeof r.getSingleMetric === 'function' &&
    typeof r.removeSingleMetric === 'function'
  );
}
