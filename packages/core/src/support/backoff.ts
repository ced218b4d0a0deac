import { InvalidOptionError } from './errors.js';
import { duration, integerAtLeast, numberAtLeast, object } from './validate.js';

/** How failed handler calls are retried. */
export interface RetryOptions {
  /**
   * Total tries per message, the first included. 1 means no retry (go-zero's behaviour).
   * @default 1
   */
  attempts?: number;
  /**
   * Delay before the first retry, in milliseconds.
   * @default 100
   */
  minDelayMs?: number;
  /**
   * Upper bound of any delay, in milliseconds.
   * @default 30000
   */
  maxDelayMs?: number;
  /**
   * Growth of the delay per retry: retry k waits `minDelayMs * factor^(k-1)`, capped at `maxDelayMs`.
   * @default 2
   */
  factor?: number;
  /**
   * Full jitter: each delay is drawn uniformly from [0, computed delay], so retries of many messages
   * that failed together do not hit the downstream at the same instant.
   * @default true
   */
  jitter?: boolean;
}

/** A validated {@link RetryOptions} with every default filled in. */
export interface RetryPolicy {
  /** Attempts in all, the first included (1: no retry). */
  readonly attempts: number;
  /** Delay before the first retry, in milliseconds. */
  readonly minDelayMs: number;
  /** Longest delay between attempts, in milliseconds. */
  readonly maxDelayMs: number;
  /** What each delay is multiplied by for the next one. */
  readonly factor: number;
  /** Whether each delay is drawn uniformly from [0, computed delay]. */
  readonly jitter: boolean;
}

/**
 * Validates retry options, filling the delays from `defaults` (a default maximum never undercuts a
 * given minimum); throws {@link InvalidOptionError} naming `<prefix>.<field>`.
 */
export function retryPolicy(
  value: unknown,
  prefix = 'retry',
  defaults: { minDelayMs: number; maxDelayMs: number } = { minDelayMs: 100, maxDelayMs: 30_000 },
): RetryPolicy {
  const o = value === undefined ? {} : object(prefix, value);
  const minDelayMs = duration(`${prefix}.minDelayMs`, o.minDelayMs ?? defaults.minDelayMs);
  const maxDelayMs = duration(
    `${prefix}.maxDelayMs`,
    o.maxDelayMs ?? Math.max(defaults.maxDelayMs, minDelayMs),
    minDelayMs,
  );
  const jitter = o.jitter ?? true;
  if (typeof jitter !== 'boolean') throw new InvalidOptionError(`${prefix}.jitter`, jitter, 'a boolean');
  return {
    attempts: integerAtLeast(`${prefix}.attempts`, o.attempts ?? 1, 1),
    minDelayMs,
    maxDelayMs,
    factor: numberAtLeast(`${prefix}.factor`, o.factor ?? 2, 1),
    jitter,
  };
}

/** Delay before retry number `retry` (1-based), in milliseconds. */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const raw = Math.min(policy.maxDelayMs, policy.minDelayMs * policy.factor ** (retry - 1));
  return policy.jitter ? random() * raw : raw;
}

/**
 * Resolves after `ms`, or at once when `signal` aborts (never rejects), leaving no timer behind
 * either way.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
