import { QueueError } from '@q/core';

/**
 * A queue was registered twice on one registry and prefix with the same labels: both would write the
 * same series, so the second registration is refused. Unregister the first (its handle's
 * `unregister()`), or tell them apart with the `name` or `labels` option.
 */
export class DuplicateQueueMetricsError extends QueueError {
  override readonly code: string = 'Q_DUPLICATE_QUEUE_METRICS';
  /** The `queue` label value both registrations use. */
  readonly queue: string;
  /** Every label of the refused registration, `queue` included. */
  readonly labels: Readonly<Record<string, string>>;

  constructor(labels: Readonly<Record<string, string>>) {
    super(
      `Metrics for queue ${JSON.stringify(labels.queue)} with labels ${JSON.stringify(labels)} are already registered`,
    );
    this.queue = labels.queue ?? '';
    this.labels = labels;
  }
}

/**
 * The registry already holds a metric of the same name that `@q/prometheus` did not make (your own,
 * or another library's). Choose another `prefix`.
 */
export class MetricNameTakenError extends QueueError {
  override readonly code: string = 'Q_METRIC_NAME_TAKEN';
  /** The metric name that is taken. */
  readonly metric: string;

  constructor(metric: string) {
    super(
      `The registry already has a metric named ${metric} that @q/prometheus did not register; choose another prefix`,
    );
    this.metric = metric;
  }
}
