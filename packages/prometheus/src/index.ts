/**
 * `@q/prometheus`: a queue's stats as Prometheus metrics through prom-client (a peer dependency),
 * read at scrape time.
 * @packageDocumentation
 */
export { DuplicateQueueMetricsError, MetricNameTakenError } from './errors.js';
export type { DurationsMetric, QueueMetricsOptions, QueueMetricsSource } from './options.js';
export { type QueueMetrics, registerQueueMetrics } from './register.js';
