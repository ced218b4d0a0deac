/** Counts messages until `n` arrived. */
export interface Counter {
  /** Adds `k` arrived messages. */
  hit(k: number): void;
  /** Resolves once `n` have arrived. */
  readonly done: Promise<void>;
  /** `performance.now()` at the first hit (0 before), for timing from the first message. */
  readonly firstAt: number;
}

/**
 * A counter that resolves `done` at `n` messages. Strict counters throw on more than `n` (a case
 * that delivers a message twice must not look faster); at-least-once clients pass `strict: false`.
 */
export function counter(n: number, options: { strict?: boolean } = {}): Counter {
  const strict = options.strict ?? true;
  let left = n;
  let firstAt = 0;
  let resolve!: () => void;
  const done = new Promise<void>((r) => {
    resolve = r;
  });
  return {
    hit(k) {
      if (firstAt === 0) firstAt = performance.now();
      left -= k;
      if (left <= 0) resolve();
      if (left < 0 && strict) throw new Error('more messages than sent');
    },
    done,
    get firstAt() {
      return firstAt;
    },
  };
}
