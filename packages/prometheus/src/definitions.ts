import type { QueueStats } from '@q/core';

/** A counter or gauge read from one field of {@link QueueStats}. */
export interface SeriesDefinition {
  readonly type: 'counter' | 'gauge';
  /** The name after the prefix. */
  readonly name: string;
  readonly help: string;
  readonly read: (stats: QueueStats) => number;
}

/**
 * The counters and gauges, one per `QueueStats` field. Names follow the Prometheus conventions:
 * snake_case, the unit or `_total` last, counts of messages as `messages_*`.
 */
export const SERIES: readonly SeriesDefinition[] = [
  {
    type: 'counter',
    name: 'messages_produced_total',
    help: 'Messages returned by the queue producers.',
    read: (s) => s.produced,
  },
  {
    type: 'counter',
    name: 'messages_consumed_total',
    help: 'Messages a handler finished.',
    read: (s) => s.consumed,
  },
  {
    type: 'counter',
    name: 'messages_failed_total',
    help: 'Messages that failed every attempt and were not dead-lettered.',
    read: (s) => s.failed,
  },
  {
    type: 'counter',
    name: 'messages_dead_lettered_total',
    help: 'Messages handed to the dead-letter pusher after their last attempt.',
    read: (s) => s.deadLettered,
  },
  {
    type: 'counter',
    name: 'messages_nacked_total',
    help: 'Messages handed back to their producer unconsumed (stop deadline, or produced after close).',
    read: (s) => s.nacked,
  },
  {
    type: 'counter',
    name: 'handler_retries_total',
    help: 'Handler attempts after the first.',
    read: (s) => s.retries,
  },
  {
    type: 'gauge',
    name: 'messages_in_flight',
    help: 'Messages in the hands of consumers, including those waiting for a retry.',
    read: (s) => s.inFlight,
  },
  {
    type: 'gauge',
    name: 'messages_buffered',
    help: 'Messages waiting in the channel or held by producers waiting for room.',
    read: (s) => s.buffered,
  },
  {
    type: 'gauge',
    name: 'messages_parked',
    help: 'Messages waiting behind a busy key (queues with keyOf).',
    read: (s) => s.parked,
  },
  {
    type: 'gauge',
    name: 'queue_paused',
    help: '1 while every producer of the queue is paused, else 0.',
    read: (s) => (s.paused ? 1 : 0),
  },
  {
    type: 'gauge',
    name: 'producer_loops',
    help: 'Producer loops running.',
    read: (s) => s.producers,
  },
  {
    type: 'gauge',
    name: 'consumer_loops',
    help: 'Consumer loops running.',
    read: (s) => s.consumers,
  },
];

/** The lifecycle states, each a series of the `queue_state` state set (1 for the current one). */
export const STATES = ['idle', 'running', 'stopping', 'stopped'] as const;

/** The state set's name after the prefix. */
export const STATE_NAME = 'queue_state';
/** The state set's help text. */
export const STATE_HELP = 'Lifecycle state of the queue: 1 for the current state, 0 for the others.';

/** The handler durations' name after the prefix. */
export const DURATION_NAME = 'handler_duration_seconds';
/** The handler durations' help text, as a histogram (the default). */
export const DURATION_HISTOGRAM_HELP =
  'Duration of handler calls (one per consume, one per consumeBatch; calls under 50 us are timed one in 16), since the queue started; buckets from the queue latency histogram (exact at its own bucket edges, within about 6 % between them).';
/** The handler durations' help text, as a summary (`durations: 'summary'`). */
export const DURATION_SUMMARY_HELP =
  'Duration of handler calls (one per consume, one per consumeBatch; calls under 50 us are timed one in 16), since the queue started; quantiles from the queue latency histogram (about 6 % relative error).';

/**
 * The default histogram bounds in seconds: 1-2.5-5 steps from 100 us (an in-memory handler) to 10 s
 * (a slow call to another service); longer calls land in `+Inf`.
 */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** The quantiles `@q/core`'s latency summary gives, paired with the field holding each, in milliseconds. */
export const QUANTILES = [
  [0.5, 'p50'],
  [0.9, 'p90'],
  [0.99, 'p99'],
  [0.999, 'p999'],
] as const;

/** Labels the package sets itself; a `labels` option may not use them. */
export const RESERVED_LABELS: ReadonlySet<string> = new Set(['queue', 'state', 'quantile', 'le']);
