import { Counter, Gauge, type Registry, type RegistryContentType } from 'prom-client';
import { DURATION_HELP, DURATION_NAME, SERIES, STATE_HELP, STATE_NAME, STATES } from './definitions.js';
import { DuplicateQueueMetricsError, MetricNameTakenError } from './errors.js';
import type { QueueMetricsSource } from './options.js';
import { QuantileSummary, type Sample } from './quantile-summary.js';

type AnyMetric = Counter<string> | Gauge<string> | QuantileSummary;

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
  readonly #registry: Registry<RegistryContentType>;
  readonly #metrics: readonly AnyMetric[];
  /** The names the metrics were registered under (OpenMetrics registries rename counters in place). */
  readonly #names: readonly string[];
  readonly #members = new Map<string, Member>();
  #scrape: readonly Sample[] | undefined;

  constructor(registry: Registry<RegistryContentType>, prefix: string, extraLabelNames: readonly string[]) {
    this.#registry = registry;
    const labelNames = ['queue', ...extraLabelNames];
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
      new QuantileSummary(prefix + DURATION_NAME, DURATION_HELP, labelNames, read),
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
   * never exceeds produced within one scrape).
   */
  #samples(): readonly Sample[] {
    if (this.#scrape === undefined) {
      this.#scrape = [...this.#members.values()].map((m) => ({ labels: m.labels, stats: m.source.stats() }));
      queueMicrotask(() => {
        this.#scrape = undefined;
      });
    }
    return this.#scrape;
  }
}
