import type { LatencyHistogram, LatencySummary } from '../support/latency-histogram.js';

/** Lifecycle state of a {@link Queue}. */
export type QueueState = 'idle' | 'running' | 'stopping' | 'stopped';

/** A snapshot of a queue's counters, from {@link Queue.stats}. Counts are totals since start. */
export interface QueueStats {
  /** The queue's name (`name` option or `setName`). */
  readonly name: string;
  /** Where the queue is in its lifecycle. */
  readonly state: QueueState;
  /** Whether every producer is paused (go-zero's aggregate pause). */
  readonly paused: boolean;
  /** Producer loops that have a producer and have not ended. */
  readonly producers: number;
  /** Consumer loops that have a consumer and have not ended. */
  readonly consumers: number;
  /** Messages returned by producers. */
  readonly produced: number;
  /** Messages a handler finished. */
  readonly consumed: number;
  /** Messages that failed every attempt and were not dead-lettered. */
  readonly failed: number;
  /** Retries made (attempts after the first). */
  readonly retries: number;
  /** Messages handed to the dead-letter pusher. */
  readonly deadLettered: number;
  /** Messages handed back to their producer unconsumed (stop deadline, or produced after close). */
  readonly nacked: number;
  /** Messages in the hands of consumers right now (including those waiting for a retry). */
  readonly inFlight: number;
  /** Messages waiting in the channel or in the hands of producers waiting for room. */
  readonly buffered: number;
  /** Messages waiting behind a busy key (with `keyOf`). */
  readonly parked: number;
  /** Durations of handler calls (one per `consume`, one per `consumeBatch`), since start. */
  readonly latency: LatencySummary;
}

/** Payload of the periodic `stats` event: the totals plus what happened during the last interval. */
export interface QueueStatsReport extends QueueStats {
  /** Length of the interval, in milliseconds. */
  readonly intervalMs: number;
  /** Messages consumed per second during the interval (go-zero's qps). */
  readonly rate: number;
  /** Handler durations during the interval. */
  readonly intervalLatency: LatencySummary;
}

/**
 * Emits a {@link QueueStatsReport} every `intervalMs` through `emit` (0: never). The timer is
 * unref'd: stats never keep a process alive. Returns the timer, to clear at the end of the run.
 */
export function startStatsTicker(
  intervalMs: number,
  stats: () => QueueStats,
  latency: LatencyHistogram,
  emit: (report: QueueStatsReport) => void,
): NodeJS.Timeout | undefined {
  if (intervalMs === 0) return undefined;
  let lastConsumed = 0;
  let lastLatency = latency.snapshot();
  const timer = setInterval(() => {
    const now = stats();
    const snapshot = latency.snapshot();
    emit({
      ...now,
      intervalMs,
      rate: ((now.consumed - lastConsumed) * 1000) / intervalMs,
      intervalLatency: snapshot.since(lastLatency).summary(),
    });
    lastConsumed = now.consumed;
    lastLatency = snapshot;
  }, intervalMs);
  timer.unref();
  return timer;
}
