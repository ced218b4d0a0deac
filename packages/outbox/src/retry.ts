import { InvalidOptionError, type RetryOptions, type RetryPolicy, retryPolicy } from '@q/core';

/** The forwarder's back-off: a {@link RetryPolicy} whose attempts never run out. */
export type ForwardRetryPolicy = RetryPolicy;

/**
 * Validates `retry` (naming `retry.<field>`): `attempts` may only be `Infinity` (or left out), since
 * giving up on a sink that is down would mean dropping messages that were promised to be kept.
 */
export function forwardRetryPolicy(value: RetryOptions | undefined): ForwardRetryPolicy {
  if (value !== undefined && (typeof value !== 'object' || value === null))
    throw new InvalidOptionError('retry', value, 'an object');
  const attempts = value?.attempts;
  if (attempts !== undefined && attempts !== Number.POSITIVE_INFINITY)
    throw new InvalidOptionError(
      'retry.attempts',
      attempts,
      'Infinity (a sink that is down is retried until it is back; a message it refuses is dead-lettered)',
    );
  const policy = retryPolicy({ ...value, attempts: 1 }, 'retry', { minDelayMs: 100, maxDelayMs: 30_000 });
  return { ...policy, attempts: Number.POSITIVE_INFINITY };
}
