/** Percentiles of a set of durations, in milliseconds. */
export interface LatencySummary {
  /** Number of durations recorded. */
  readonly count: number;
  /** Average duration (0 when none was recorded). */
  readonly mean: number;
  /** Median. */
  readonly p50: number;
  /** 90th percentile. */
  readonly p90: number;
  /** 99th percentile. */
  readonly p99: number;
  /** 99.9th percentile. */
  readonly p999: number;
  /** Longest duration recorded. */
  readonly max: number;
}

/**
 * Handler durations as cumulative bucket counts, the shape of a Prometheus histogram: how many
 * durations were at most each bound. Counts within a bucket of the underlying log-linear histogram are
 * spread evenly over it, so a count is exact at the histogram's own bucket edges and otherwise off by
 * at most the durations that fell within about 6 % of the bound.
 */
export interface LatencyBuckets {
  /** The bounds asked for, in milliseconds, ascending. */
  readonly boundsMs: readonly number[];
  /** `cumulative[i]`: durations at most `boundsMs[i]`; never decreasing, never above `count`. */
  readonly cumulative: readonly number[];
  /** Number of durations recorded. */
  readonly count: number;
  /** Sum of every duration recorded, in milliseconds (exact to 1 us, not bucketed). */
  readonly sumMs: number;
}

const SUB_BITS = 4;
const SUB = 1 << SUB_BITS;
const BUCKETS = SUB + (32 - SUB_BITS) * SUB;

/**
 * A log-linear histogram of durations (HDR-style: 16 linear sub-buckets per power of two, about 6 %
 * relative error) in microseconds. Recording is a handful of integer operations and never allocates,
 * so it can sit on the per-message path; percentiles are computed only when asked for.
 */
export class LatencyHistogram {
  readonly #counts = new Float64Array(BUCKETS);
  #count = 0;
  #sumUs = 0;
  #maxUs = 0;

  /** Records one duration given in milliseconds. */
  record(ms: number): void {
    let us = Math.round(ms * 1000);
    if (!(us > 0)) us = 0;
    else if (us > 0x7fffffff) us = 0x7fffffff;
    const b = bucketOf(us);
    this.#counts[b] = (this.#counts[b] as number) + 1;
    this.#count++;
    this.#sumUs += us;
    if (us > this.#maxUs) this.#maxUs = us;
  }

  /** Number of durations recorded. */
  get count(): number {
    return this.#count;
  }

  /** Returns a copy, for computing the summary of a window later with {@link LatencyHistogram.since}. */
  snapshot(): LatencyHistogram {
    const copy = new LatencyHistogram();
    copy.#counts.set(this.#counts);
    copy.#count = this.#count;
    copy.#sumUs = this.#sumUs;
    copy.#maxUs = this.#maxUs;
    return copy;
  }

  /** The durations recorded since `earlier` (a snapshot of this histogram). Max is the lifetime max. */
  since(earlier: LatencyHistogram): LatencyHistogram {
    const diff = new LatencyHistogram();
    for (let i = 0; i < BUCKETS; i++) diff.#counts[i] = (this.#counts[i] as number) - (earlier.#counts[i] as number);
    diff.#count = this.#count - earlier.#count;
    diff.#sumUs = this.#sumUs - earlier.#sumUs;
    diff.#maxUs = this.#maxUs;
    return diff;
  }

  /**
   * Cumulative counts at `boundsMs` (ascending, finite, >= 0), for exporting as a histogram.
   * @throws {RangeError} when the bounds are not ascending finite numbers >= 0.
   */
  buckets(boundsMs: readonly number[]): LatencyBuckets {
    // Bounds come as seconds or ms (0.0025 s * 1e6 may be 2499.9999...): 1 ns of slack keeps edges exact.
    const bounds = boundsMs.map((ms) => ms * 1000 + 1e-3);
    for (let i = 0; i < bounds.length; i++) {
      const b = bounds[i] as number;
      if (!(b >= 0) || b === Number.POSITIVE_INFINITY || (i > 0 && !(b > (bounds[i - 1] as number)))) {
        throw new RangeError(`bucket bounds must be finite, >= 0 and ascending; got ${boundsMs.join(', ')}`);
      }
    }
    const cumulative: number[] = [];
    let below = 0;
    let bucket = 0;
    for (const bound of bounds) {
      // Whole buckets that end at or below the bound; a recorded value v in bucket [lo, hi) is <= bound
      // when the bucket's values (integers lo..hi-1) are, hence the hi - 1.
      while (bucket < BUCKETS && bucketEnd(bucket) - 1 <= bound) below += this.#counts[bucket++] as number;
      let partial = 0;
      if (bucket < BUCKETS) {
        const lo = bucketStart(bucket);
        const width = bucketEnd(bucket) - lo;
        const share = Math.max(0, Math.floor(bound) - lo + 1) / width;
        partial = Math.min(this.#counts[bucket] as number, Math.floor((this.#counts[bucket] as number) * share));
      }
      cumulative.push(below + partial);
    }
    return { boundsMs: [...boundsMs], cumulative, count: this.#count, sumMs: this.#sumUs / 1000 };
  }

  /** Mean, percentiles and max in milliseconds; zeros when nothing was recorded. */
  summary(): LatencySummary {
    const count = this.#count;
    if (count === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
    const targets = [0.5, 0.9, 0.99, 0.999].map((q) => Math.max(1, Math.ceil(q * count)));
    const values: number[] = [];
    let seen = 0;
    let t = 0;
    for (let i = 0; i < BUCKETS && t < targets.length; i++) {
      seen += this.#counts[i] as number;
      while (t < targets.length && seen >= (targets[t] as number)) {
        values.push(Math.min(bucketMidpoint(i), this.#maxUs) / 1000);
        t++;
      }
    }
    return {
      count,
      mean: this.#sumUs / count / 1000,
      p50: values[0] ?? 0,
      p90: values[1] ?? 0,
      p99: values[2] ?? 0,
      p999: values[3] ?? 0,
      max: this.#maxUs / 1000,
    };
  }
}

function bucketOf(us: number): number {
  if (us < SUB) return us;
  const exp = 31 - Math.clz32(us);
  return SUB + (exp - SUB_BITS) * SUB + ((us >>> (exp - SUB_BITS)) & (SUB - 1));
}

/** First value of a bucket, in microseconds. */
function bucketStart(bucket: number): number {
  if (bucket < SUB) return bucket;
  const exp = Math.floor((bucket - SUB) / SUB) + SUB_BITS;
  return 2 ** exp + ((bucket - SUB) % SUB) * 2 ** (exp - SUB_BITS);
}

/** One past the last value of a bucket, in microseconds. */
function bucketEnd(bucket: number): number {
  if (bucket < SUB) return bucket + 1;
  const exp = Math.floor((bucket - SUB) / SUB) + SUB_BITS;
  return bucketStart(bucket) + 2 ** (exp - SUB_BITS);
}

/** Midpoint of a bucket, in microseconds. */
function bucketMidpoint(bucket: number): number {
  if (bucket < SUB) return bucket;
  const exp = Math.floor((bucket - SUB) / SUB) + SUB_BITS;
  const sub = (bucket - SUB) % SUB;
  const width = 2 ** (exp - SUB_BITS);
  return 2 ** exp + sub * width + width / 2;
}
