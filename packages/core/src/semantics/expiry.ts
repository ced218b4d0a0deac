/**
 * Time to live as RabbitMQ's per-message TTL, on brokers that have none: the pusher stamps an
 * absolute expiry on the message, and the consumer checks it on receive (lazy expiry). An expired
 * message is never handed to a handler; it takes the dead-letter path with reason `expired`.
 */
import { InvalidOptionError } from '../support/errors.js';
import { MAX_TIMER_MS } from '../support/validate.js';

/** The header that carries a message's expiry, in milliseconds since the epoch, as a decimal string. */
export const EXPIRES_AT_HEADER = 'q-expires-at';

/** The {@link EXPIRES_AT_HEADER} value for a message pushed at `now` that lives `ttlMs`. */
export function expiresAt(ttlMs: number, now: number = Date.now()): string {
  return String(now + ttlMs);
}

/**
 * Whether a message with this {@link EXPIRES_AT_HEADER} value has expired at `now`, as any client
 * hands a header over (a decimal string, bytes, or a number where a client decodes numbers). A
 * missing or unreadable value never expires: a message is not dropped because of a header it does
 * not carry.
 */
export function isExpired(header: unknown, now: number = Date.now()): boolean {
  const text = Buffer.isBuffer(header) ? header.toString('latin1') : header;
  // Number('') is 0: an empty header must not read as expired at the epoch.
  const at =
    typeof text === 'number' ? text : typeof text === 'string' && text.trim() !== '' ? Number(text) : Number.NaN;
  return Number.isFinite(at) && at <= now;
}

/** Validates a `ttlMs` option: an integer from 0 (expire unless delivered at once) up to a timer's range. */
export function ttlOption(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_TIMER_MS) {
    throw new InvalidOptionError(name, value, `an integer from 0 to ${MAX_TIMER_MS} (milliseconds)`);
  }
  return value;
}
