import { backoffDelay, type RetryPolicy } from '@q/core';
import type { DeadLetterReason } from './types.js';

const DELAY_SECONDS = /^\s*(\d+)\s*$/;
/**
 * The shape shared by the three HTTP-date forms (a day name, then a time of day), checked before
 * `Date.parse`, which would read `-5` or `1.5` as dates.
 */
const HTTP_DATE = /^\s*[A-Za-z]{3,9},? .*\b\d{2}:\d{2}:\d{2}\b/;

/**
 * The wait a `Retry-After` header asks for, in milliseconds (RFC 9110 §10.2.3): delay-seconds
 * (`120`) or an HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`, and the obsolete RFC 850 and asctime forms
 * `Date.parse` reads), a date in the past being 0. `undefined` when absent or unreadable (the back-off
 * schedule then applies alone). With several values the first is taken.
 */
export function parseRetryAfter(value: string | readonly string[] | undefined, now: number): number | undefined {
  const text = typeof value === 'string' ? value : value?.[0];
  if (text === undefined || text.length === 0) return undefined;
  const seconds = DELAY_SECONDS.exec(text);
  if (seconds !== null) {
    const n = Number(seconds[1]);
    return Number.isSafeInteger(n) ? n * 1000 : Number.MAX_SAFE_INTEGER;
  }
  if (!HTTP_DATE.test(text)) return undefined;
  // asctime carries no zone, and HTTP-dates are always GMT (Date.parse would read it as local time).
  const at = Date.parse(/GMT|UTC/i.test(text) ? text : `${text} GMT`);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * The wait before the attempt after `attempt` (1-based): full-jitter back-off, replaced by a longer
 * `Retry-After` capped at `maxDelayMs` (a shorter one does not hurry the schedule).
 */
export function retryDelay(
  policy: RetryPolicy,
  attempt: number,
  retryAfterMs: number | undefined,
  random: () => number,
): number {
  const delay = backoffDelay(policy, attempt, random);
  return retryAfterMs !== undefined && retryAfterMs > delay ? Math.min(retryAfterMs, policy.maxDelayMs) : delay;
}

/**
 * After a failed attempt: the wait before the next one, or the dead-letter reason when none may go (the
 * endpoint was disabled meanwhile, attempts used up, or the next attempt would start past `deadline`).
 */
export function nextRetry(
  o: { readonly maxAttempts: number; readonly backoff: RetryPolicy; readonly random: () => number },
  job: { readonly attempts: number; readonly retryAfterMs: number | undefined; readonly deadline: number },
  disabled: boolean,
): { reason: DeadLetterReason } | { delayMs: number } {
  // A 410 of another attempt disabled the endpoint while this one was in flight: no retry would go.
  if (disabled) return { reason: 'endpoint-disabled' };
  if (job.attempts >= o.maxAttempts) return { reason: 'attempts' };
  const delayMs = retryDelay(o.backoff, job.attempts, job.retryAfterMs, o.random);
  // The next attempt would start past the item's age limit: waiting for it would change nothing.
  return Date.now() + delayMs > job.deadline ? { reason: 'max-age' } : { delayMs };
}
