import { Counter, Gauge, type Registry, type RegistryContentType } from 'prom-client';
import { BucketHistogram } from './bucket-histogram.js';
import {
  DURATION_HISTOGRAM_HELP,
  DURATION_NAME,
  DURATION_SUMMARY_HELP,
  SERIES,
  STATE_HELP,
  STATE_NAME,
  STATES,
} from './definitions.js';
import { DuplicateQueueMetricsError, MetricNameTakenError } from './errors.js';
import type { DurationsMetric, QueueMetricsSource } from './options.js';
import { QuantileSummary } from './quantile-summary.js';
import type { Sample } from './sample.js';

type AnyMetric = Counter<string> | Gauge<string> | QuantileSummary | BucketHistogram;

/** What the first registration of a registry and prefix fixes for every later one. */
export interface FamilyShape {
  /** The `labels` option's names, sorted. */
  readonly extraLabelNames: readonly string[];
  readonly durations: DurationsMetric;
  /** Histogram bounds in seconds; empty for a summary. */
  readonly buckets: readonly number[];
}

interface Member {
  readonly source: QueueMetricsSource;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * The metrics of every queue registered on one registry with one prefix: one prom-client metric per
 * name, one label set per queue. Values are read from `stats()` when the registry is scraped, never
 * pushed: no cost per message and no timer.
 */
export class QueueMetricFamily {
  /** `queue`, then the extra label names, sorted: fixed by the first registration. */
  readonly labelNames: readonly string[];
  /** How handler durations are exported, fixed by the first registration. */
  readonly durations: DurationsMetric;
  /** The histogram's bounds in seconds, fixed by the first registration; empty for a summary. */
  readonly buckets: readonly number[];
  /** The same bounds in milliseconds, as `latencyBuckets` takes them. */
  readonly #boundsMs: readonly number[];
  readonly #registry: Registry<RegistryContentType>;
  readonly #metrics: readonly AnyMetric[];
  /** The names the metrics were registered under (OpenMetrics registries rename counters in place). */
  readonly #names: readonly string[];
  readonly #members = new Map<string, Member>();
  #scrape: readonly Sample[] | undefined;

  constructor(registry: Registry<RegistryContentType>, prefix: string, shape: FamilyShape) {
    this.#registry = registry;
    this.durations = shape.durations;
    this.buckets = shape.buckets;
    this.#boundsMs = shape.buckets.map((s) => s * 1000);
    const labelNames = ['queue', ...shape.extraLabelNames];
    this.labelNames = labelNames;
    const read = (): readonly Sample[] => this.#samples();
    const metrics: AnyMetric[] = SERIES.map((def) => {
      const config = { name: prefix + def.name, help: def.help, labelNames, registers: [] };
      if (def.type === 'counter') {
        return new Counter({
          ...config,
          collect(this: Counter<string>) {
            this.reset();
            for (const s of read()) this.inc(s.labels, def.read(s.stats));
          },
        });
      }
      return new Gauge({
        ...config,
        collect(this: Gauge<string>) {
          this.reset();
          for (const s of read()) this.set(s.labels, def.read(s.stats));
        },
      });
    });
    metrics.push(
      new Gauge({
        name: prefix + STATE_NAME,
        help: STATE_HELP,
        labelNames: [...labelNames, 'state'],
        registers: [],
        collect(this: Gauge<string>) {
          this.reset();
          for (const s of read()) {
            for (const state of STATES) this.set({ ...s.labels, state }, s.stats.state === state ? 1 : 0);
          }
        },
      }),
      shape.durations === 'summary'
        ? new QuantileSummary(prefix + DURATION_NAME, DURATION_SUMMARY_HELP, labelNames, read)
        : new BucketHistogram(prefix + DURATION_NAME, DURATION_HISTOGRAM_HELP, labelNames, shape.buckets, read),
    );
    this.#metrics = metrics;
    this.#names = [...SERIES.map((def) => prefix + def.name), prefix + STATE_NAME, prefix + DURATION_NAME];
  }

  /** The metric names, prefix included. */
  get names(): readonly string[] {
    return this.#names;
  }

  /** Number of queues registered. */
  get size(): number {
    return this.#members.size;
  }

  /**
   * Puts the metrics in the registry (again, after a `registry.clear()`) and adds the queue.
   * @throws {MetricNameTakenError} when a name is taken by a metric this family did not make.
   * @throws {DuplicateQueueMetricsError} when a queue with the same labels is registered.
   */
  add(source: QueueMetricsSource, labels: Readonly<Record<string, string>>): string {
    const key = JSON.stringify(this.labelNames.map((n) => labels[n]));
    if (this.#members.has(key)) throw new DuplicateQueueMetricsError(labels);
    // Every name is checked before any is registered, so a refusal leaves the registry as it was.
    this.#metrics.forEach((metric, i) => {
      const taken = this.#registry.getSingleMetric(this.#names[i] as string);
      if (taken !== undefined && taken !== metric) throw new MetricNameTakenError(this.#names[i] as string);
    });
    this.#metrics.forEach((metric, i) => {
      if (this.#registry.getSingleMetric(this.#names[i] as string) === undefined) this.#registry.registerMetric(metric);
    });
    this.#members.set(key, { source, labels });
    return key;
  }

  /** Removes a queue; the last one out takes the metrics out of the registry. */
  remove(key: string): void {
    if (!this.#members.delete(key) || this.#members.size > 0) return;
    this.#metrics.forEach((metric, i) => {
      const name = this.#names[i] as string;
      if (this.#registry.getSingleMetric(name) === metric) this.#registry.removeSingleMetric(name);
    });
  }

  /**
   * Every queue's stats, read once per scrape: `registry.metrics()` calls every metric's `get()` (and
   * so its collect) in one synchronous pass, so the snapshot is dropped at the next microtask. One
   * `stats()` call per queue per scrape, and all series of a scrape agree with each other (consumed
   * never exceeds produced within one scrape). A histogram's buckets are read right after, in the same
   * synchronous pass, so no handler finishes in between: `_count` is the stats' latency count.
   */
  #samples(): readonly Sample[] {
    if (this.#scrape === undefined) {
      const histogram = this.durations === 'histogram';
      this.#scrape = [...this.#members.values()].map(({ source, labels }) => ({
        labels,
        stats: source.stats(),
        buckets: histogram ? source.latencyBuckets?.(this.#boundsMs) : undefined,
      }));
      queueMicrotask(() => {
        this.#scrape = undefined;
      });
    }
    return this.#scrape;
  }
}
