import { type MetricType, Summary } from 'prom-client';
import { QUANTILES } from './definitions.js';
import { type Sample, seconds } from './sample.js';

type SummaryValues = Awaited<ReturnType<Summary<string>['get']>>;

/**
 * A prom-client `Summary` whose quantiles, sum and count come from the queue's own latency histogram
 * (`QueueStats.latency`) at scrape time instead of from `observe()` calls: the queue already times its
 * handlers, so exporting costs nothing per message. The opt-in (`durations: 'summary'`) to the
 * default `BucketHistogram`: quantiles of one queue, which cannot be aggregated across queues.
 */
export class QuantileSummary extends Summary<string> {
  /** The metric name (prom-client keeps it too, but its typings do not declare it). */
  readonly name: string;
  readonly #help: string;
  readonly #read: () => readonly Sample[];

  constructor(name: string, help: string, labelNames: readonly string[], read: () => readonly Sample[]) {
    super({ name, help, labelNames, registers: [], percentiles: QUANTILES.map(([q]) => q) });
    this.name = name;
    this.#help = help;
    this.#read = read;
  }

  override async get(): Promise<SummaryValues> {
    const values: SummaryValues['values'] = [];
    for (const { labels, stats } of this.#read()) {
      const { latency } = stats;
      for (const [quantile, field] of QUANTILES) {
        values.push({ labels: { ...labels, quantile }, value: seconds(latency[field]) });
      }
      // mean is the exact sum / count (the sum is kept in microseconds, not bucketed).
      values.push({ metricName: `${this.name}_sum`, labels, value: seconds(latency.mean * latency.count) });
      values.push({ metricName: `${this.name}_count`, labels, value: latency.count });
    }
    // The registry reads name, help, type and values. prom-client's typings declare `type` as a numeric
    // enum that does not exist at runtime (the registry writes the string) and ask for a collect.
    const type = 'summary' as unknown as MetricType;
    return { name: this.name, help: this.#help, type, values, aggregator: 'sum', collect: noop };
  }
}

function noop(): void {}
