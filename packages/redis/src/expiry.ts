import { EXPIRES_AT_HEADER, isExpired } from '@q/core';
import { ENVELOPE_MAGIC, isEnveloped, unwrapEnvelope, wrapEnvelope } from './envelope.js';

/**
 * Lazy expiry on a list (RabbitMQ's per-message TTL): the pusher stamps `q-expires-at` into the
 * message's envelope, the producer reads it when it takes the message. Only the header line is
 * looked at, and only when it names the header: a body with other headers (a `traceparent`) or none
 * costs one `indexOf`.
 */

const NEEDLE = `"${EXPIRES_AT_HEADER}":"`;
const NEEDLE_BYTES = Buffer.from(NEEDLE, 'latin1');
const MAGIC_LENGTH = ENVELOPE_MAGIC.length;

/**
 * `body` carrying the expiry `at` (milliseconds since the epoch) in its envelope, other headers kept.
 * A body whose envelope already holds an earlier expiry keeps it: a message moved between lists never
 * lives longer than it was first given. `also` is a further expiry the message carries outside its
 * body (its `headers`), and counts the same way.
 */
export function stampExpiry(body: string | Buffer, at: number, also?: string | Buffer): string | Buffer {
  // isExpired(x, at): x is a readable expiry at or before `at`.
  const earliest = isExpired(also, at) ? Number(typeof also === 'string' ? also : also?.toString('latin1')) : at;
  if (!isEnveloped(body)) {
    // The common case, without an object or a JSON round trip.
    const head = `${ENVELOPE_MAGIC}{${NEEDLE}${earliest}"}\n`;
    return typeof body === 'string' ? head + body : Buffer.concat([Buffer.from(head, 'latin1'), body]);
  }
  const { body: inner, headers } = unwrapEnvelope(body);
  // unwrapEnvelope gives back the very same body when its header line is malformed: then the whole
  // body is the message, and wrapping it keeps it intact.
  if (inner === body) return wrapEnvelope(body, { [EXPIRES_AT_HEADER]: String(earliest) });
  if (isExpired(headers[EXPIRES_AT_HEADER], earliest)) return body;
  return wrapEnvelope(inner, { ...headers, [EXPIRES_AT_HEADER]: String(earliest) });
}

/** Whether `body`'s envelope carries a `q-expires-at` at or before `now`. */
export function isExpiredBody(body: string | Buffer, now: number): boolean {
  if (!isEnveloped(body)) return false;
  if (typeof body === 'string') {
    const end = body.indexOf('\n', MAGIC_LENGTH);
    const at = body.indexOf(NEEDLE, MAGIC_LENGTH);
    if (at < 0 || end < 0 || at > end) return false;
  } else {
    const end = body.indexOf(0x0a, MAGIC_LENGTH);
    const at = body.indexOf(NEEDLE_BYTES, MAGIC_LENGTH);
    if (at < 0 || end < 0 || at > end) return false;
  }
  return isExpired(unwrapEnvelope(body).headers[EXPIRES_AT_HEADER], now);
}
