import type { IncomingHttpHeaders } from 'node:http';
import { HttpError } from '@q/core/internal';
import { setHeader } from '../message.js';

/** A message as the proxy hands it to the outbox (one `send`, or one item of a `sendBatch`). */
export interface ProxyMessage {
  /** The message's bytes. */
  body: Buffer;
  /** The message's key (Kafka partitioning), absent for none. */
  key?: Buffer | string;
  /** The message's headers, absent for none. */
  headers?: Record<string, string>;
  /** The client's idempotency key, absent for none. */
  idempotencyKey?: string;
}

/** Request header carrying the message's key. */
export const KEY_HEADER = 'q-key';
/** Request header carrying the client's idempotency key. */
export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** Prefix of the request headers that become the message's headers (`q-header-trace: x` -> `trace: x`). */
export const HEADER_PREFIX = 'q-header-';
/** Longest idempotency key, in characters. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;
/** Longest header name of a message, in characters. */
export const MAX_HEADER_NAME_LENGTH = 256;

/** Header names the outbox writes itself: a client setting them could forge an id. */
const RESERVED_HEADER = /^(q-outbox-|q-idempotency-key$)/;
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;
const BEYOND_ASCII = /[^\t\x20-\x7e]/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The key, headers and idempotency key of `POST /v1/messages` from its request headers.
 * Header values are read as the bytes the client sent (Node decodes them as latin1), so a key is
 * kept byte for byte and header values may be UTF-8.
 *
 * @throws {HttpError} 400 `invalid_header` naming the header for an empty key, a bad idempotency
 * key, an empty or reserved header name, or a header value that is not UTF-8.
 */
export function messageFromHeaders(body: Buffer, headers: IncomingHttpHeaders): ProxyMessage {
  const message: ProxyMessage = { body };
  for (const name in headers) {
    if (name.charCodeAt(0) !== 0x71 /* q */ && name !== IDEMPOTENCY_HEADER) continue;
    const raw = headers[name];
    // Node joins repeated headers with ", " except set-cookie, the only one it gives as an array.
    const value = Array.isArray(raw) ? raw.join(', ') : raw;
    if (value === undefined) continue;
    if (name === KEY_HEADER) {
      if (value.length === 0) throw invalidHeader(name, 'is empty: leave the header out for a message without a key');
      // Plain ASCII stays a string: the outbox stores it as is rather than as base64 bytes.
      message.key = BEYOND_ASCII.test(value) ? Buffer.from(value, 'latin1') : value;
    } else if (name === IDEMPOTENCY_HEADER) {
      message.idempotencyKey = idempotencyKey(value, `the ${IDEMPOTENCY_HEADER} header`);
    } else if (name.startsWith(HEADER_PREFIX)) {
      const headerName = name.slice(HEADER_PREFIX.length);
      checkHeaderName(headerName, `header ${name}`);
      setHeader((message.headers ??= {}), headerName, utf8Value(value, name));
    }
  }
  return message;
}

/**
 * `value` when it is a usable idempotency key: 1 to 256 visible ASCII characters.
 * @throws {HttpError} 400 `invalid_header` (or `invalid_line` through the batch parser) otherwise.
 */
export function idempotencyKey(value: string, where: string): string {
  if (value.length === 0 || value.length > MAX_IDEMPOTENCY_KEY_LENGTH || !VISIBLE_ASCII.test(value)) {
    throw new HttpError(
      400,
      'invalid_header',
      `${where} must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters (got ${value.length} characters)`,
      { details: { header: IDEMPOTENCY_HEADER } },
    );
  }
  return value;
}

/**
 * Refuses a message header name that is empty, too long, or one the outbox writes itself.
 * @throws {HttpError} 400 `invalid_header`.
 */
export function checkHeaderName(name: string, where: string): void {
  if (name.length === 0) throw new HttpError(400, 'invalid_header', `${where}: the header name is empty`);
  if (name.length > MAX_HEADER_NAME_LENGTH)
    throw new HttpError(400, 'invalid_header', `${where}: the name is over ${MAX_HEADER_NAME_LENGTH} characters`);
  // A plain object's "__proto__" is its prototype, not a property: the header would vanish.
  if (name === '__proto__') throw new HttpError(400, 'invalid_header', `${where}: "__proto__" is not a usable name`);
  if (RESERVED_HEADER.test(name.toLowerCase()))
    throw new HttpError(
      400,
      'invalid_header',
      `${where}: "${name}" is reserved (the outbox writes q-outbox-* and q-idempotency-key itself)`,
    );
}

function utf8Value(value: string, name: string): string {
  if (!BEYOND_ASCII.test(value)) return value;
  try {
    return utf8.decode(Buffer.from(value, 'latin1'));
  } catch {
    throw invalidHeader(name, 'is not valid UTF-8');
  }
}

function invalidHeader(name: string, problem: string): HttpError {
  return new HttpError(400, 'invalid_header', `header ${name} ${problem}`, { details: { header: name } });
}
