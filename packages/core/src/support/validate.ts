import { InvalidOptionError } from './errors.js';

/**
 * Validators shared by every options parser, the adapters' included; each throws
 * {@link InvalidOptionError} naming the option and the allowed values.
 */

export function integerAtLeast(option: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
    throw new InvalidOptionError(option, value, range);
  }
  return value;
}

/** A duration in milliseconds: finite and >= `min`, or `Infinity` when `allowInfinity`. */
/**
 * The longest delay a Node timer takes (2^31 - 1 ms, about 24.8 days): a longer one fires after 1 ms
 * with a `TimeoutOverflowWarning`, so durations above it are refused rather than cut short.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export function duration(option: string, value: unknown, min = 0, allowInfinity = false): number {
  const ok =
    typeof value === 'number' &&
    !Number.isNaN(value) &&
    value >= min &&
    (value <= MAX_TIMER_MS || (allowInfinity && value === Number.POSITIVE_INFINITY));
  if (!ok) {
    const lower = min === 0 ? '>= 0' : `>= ${min}`;
    throw new InvalidOptionError(
      option,
      value,
      `a number of milliseconds ${lower} and <= ${MAX_TIMER_MS}${allowInfinity ? ', or Infinity' : ''}`,
    );
  }
  return value as number;
}

export function numberAtLeast(option: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new InvalidOptionError(option, value, `a finite number >= ${min}`);
  }
  return value;
}

export function fn<F extends (...args: never[]) => unknown>(option: string, value: unknown): F {
  if (typeof value !== 'function') throw new InvalidOptionError(option, value, 'a function');
  return value as F;
}

export function optionalFn<F extends (...args: never[]) => unknown>(option: string, value: unknown): F | undefined {
  return value === undefined ? undefined : fn<F>(option, value);
}

export function nonEmptyString(option: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0)
    throw new InvalidOptionError(option, value, 'a non-empty string');
  return value;
}

export function object(option: string, value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionError(option, value, 'an object');
  }
  return value as Record<string, unknown>;
}
