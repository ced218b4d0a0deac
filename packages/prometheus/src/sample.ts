import type { LatencyBuckets, QueueStats } from '@q/core';

/** One queue's labels and what was read from it at this scrape. */
export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly stats: QueueStats;
  /**
   * The handler durations at the family's bucket bounds, read right after `stats` (in the same
   * synchronous pass, so its count is `stats.latency.count`); undefined for a summary family or a
   * source without `latencyBuckets`.
   */
  readonly buckets: LatencyBuckets | undefined;
}

/** Milliseconds to seconds, kept to 0.1 us (the histogram's resolution is 1 us) so no float noise shows. */
export function seconds(ms: number): number {
  return Math.round(ms * 10_000) / 10_000_000;
}
