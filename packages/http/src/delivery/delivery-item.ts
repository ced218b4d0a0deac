import { InvalidItemError } from './errors.js';
import type { DeliveryItem } from './types.js';

/** An HTTP header name (RFC 9110 token). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What a header value may not hold: line breaks and NUL would split or end the header. */
const BAD_VALUE = /[\r\n\0]/;

/**
 * Throws {@link InvalidItemError} when `item` cannot be sent as it is: an id that is empty or holds `.`, a
 * body that is not a Buffer, a key or header that is not a string, a header HTTP does not allow. The URL
 * is not checked here: a bad one is dead-lettered (`invalid-url`).
 */
export function checkItem(item: DeliveryItem): void {
  if (typeof item !== 'object' || item === null) throw new InvalidItemError('item', 'must be an object');
  const id = item.id;
  if (typeof id !== 'string' || id.length === 0 || id.includes('.') || BAD_VALUE.test(id))
    throw new InvalidItemError('id', 'must be a non-empty string without ".", CR, LF or NUL');
  if (!Buffer.isBuffer(item.body)) throw new InvalidItemError('body', 'must be a Buffer');
  if (item.key !== undefined && typeof item.key !== 'string') throw new InvalidItemError('key', 'must be a string');
  if (item.acceptedAt !== undefined && !Number.isFinite(item.acceptedAt))
    throw new InvalidItemError('acceptedAt', 'must be a finite number of milliseconds');
  if (item.attempts !== undefined && !(Number.isSafeInteger(item.attempts) && item.attempts >= 0))
    throw new InvalidItemError('attempts', 'must be a non-negative integer');
  if (item.notBefore !== undefined && !Number.isFinite(item.notBefore))
    throw new InvalidItemError('notBefore', 'must be a finite number of milliseconds');
  const headers = item.headers;
  if (headers === undefined) return;
  if (typeof headers !== 'object' || headers === null) throw new InvalidItemError('headers', 'must be an object');
  for (const name in headers) {
    const value = headers[name];
    if (!TOKEN.test(name)) throw new InvalidItemError(`headers.${name}`, 'is not a valid header name');
    if (typeof value !== 'string' || BAD_VALUE.test(value))
      throw new InvalidItemError(`headers.${name}`, 'must be a string without CR, LF or NUL');
  }
}

/** What {@link checkItem} would throw for `item`, or `undefined` when it can be sent. */
export function invalidItem(item: DeliveryItem): Error | undefined {
  try {
    checkItem(item);
    return undefined;
  } catch (err) {
    return err as Error;
  }
}
