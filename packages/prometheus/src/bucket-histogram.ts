import { Histogram, type MetricType } from 'prom-client';
import { type Sample, seconds } from './sample.js';

type HistogramValues = Awaited<ReturnType<Histogram<string>['get']>>;

/**
 * A prom-client `Histogram` whose cumulative buckets, sum and count come from the queue's own latency
 * histogram (`Queue.latencyBuckets`) at scrape time instead of from `observe()` calls: the queue
 * already times its handlers, so exporting costs nothing per message. Buckets of several queues or
 * instances add up, so `histogram_quantile()` works across them.
 */
export class BucketHistogram extends Histogram<string> {
  /** The metric name (prom-client keeps it too, but its typings do not declare it). */
  readonly name: string;
  readonly #help: string;
  /** Upper bounds in seconds, as the `le` labels; the same bounds in milliseconds, as core takes them. */
  readonly #bounds: readonly number[];
  readonly #read: () => readonly Sample[];

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    bounds: readonly number[],
    read: () => readonly Sample[],
  ) {
    super({ name, help, labelNames, registers: [], buckets: [...bounds] });
    this.name = name;
    this.#help = help;
    this.#bounds = bounds;
    this.#read = read;
  }

  /**
   * The registry's text output asks a histogram for this instead of `get()` (prom-client's own fills
   * in `_bucket` values from `observe()` state); ours has nothing else to give.
   */
  getForPromString(): Promise<HistogramValues> {
    return this.get();
  }

  override async get(): Promise<HistogramValues> {
    const values: HistogramValues['values'] = [];
    const bucket = `${this.name}_bucket`;
    for (const { labels, stats, buckets } of this.#read()) {
      // A source without latencyBuckets still has a count and a sum: the +Inf bucket alone is a valid
      // histogram (rate(_sum) / rate(_count) works, histogram_quantile() has nothing to go on).
      const count = buckets?.count ?? stats.latency.count;
      const sumMs = buckets?.sumMs ?? stats.latency.mean * stats.latency.count;
      if (buckets !== undefined) {
        this.#bounds.forEach((le, i) => {
          values.push({ metricName: bucket, labels: { ...labels, le }, value: buckets.cumulative[i] ?? count });
        });
      }
      values.push({ metricName: bucket, labels: { ...labels, le: '+Inf' }, value: count });
      values.push({ metricName: `${this.name}_sum`, labels, value: seconds(sumMs) });
      values.push({ metricName: `${this.name}_count`, labels, value: count });
    }
    // The registry reads name, help, type and values; see QuantileSummary for the type cast.
    const type = 'histogram' as unknown as MetricType;
    return { name: this.name, help: this.#help, type, values, aggregator: 'sum', collect: noop };
  }
}

function noop(): void {}
