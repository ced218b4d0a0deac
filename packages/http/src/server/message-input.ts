import type { IncomingHttpHeaders } from 'node:http';
import { HttpError } from '@q/core/internal';
import { headersBytes, MAX_HEADERS_BYTES } from '@q/log';
import {
  CONTENT_TYPE_HEADER,
  ID_HEADER,
  itemToRecordHeaders,
  KEY_HEADER,
  URL_HEADER,
  USER_HEADER_PREFIX,
} from '../deliverer/record-item.js';
import type { DeliveryItem } from '../delivery/types.js';
import { fieldError } from './field-error.js';

/**
 * Record headers the deliverer reads (see `recordToItem`): the target, the ordering key, an
 * explicit id, the content type, the trace context, and user headers under a prefix.
 */
export const RECORD_HEADERS = {
  url: URL_HEADER,
  key: KEY_HEADER,
  id: ID_HEADER,
  contentType: CONTENT_TYPE_HEADER,
  traceparent: 'traceparent',
  userPrefix: USER_HEADER_PREFIX,
} as const;

/** A record to append: its body and headers. */
export interface RecordInput {
  readonly body: Buffer;
  readonly headers: Record<string, string>;
}

/** Headers a message may not set: the engine writes them (or HTTP does) for each attempt. */
const RESERVED = new Set([
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'idempotency-key',
  'content-type',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'host',
  'te',
  'trailer',
  'upgrade',
  'expect',
]);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;
/** A header value: visible characters, spaces and tabs (no CR, LF or NUL: no header injection). */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\uffff]*$/;
/** Standard Webhooks signs `id.timestamp.body`: an id holds no `.`. */
const ID = /^[\x21-\x2d\x2f-\x7e]{1,256}$/;
const FIELDS = new Set(['url', 'body', 'json', 'key', 'id', 'headers', 'contentType']);
const MAX_KEY_LENGTH = 1024;

/**
 * The record of `POST /v1/topics/:topic/messages`, from its JSON body
 * `{ url, body?: string, json?: unknown, key?, id?, headers?, contentType? }`.
 * @throws {HttpError} 400 naming the field at fault.
 */
export function messageRecord(input: unknown): RecordInput {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw fieldError('the body', 'must be a JSON object such as {"url": "https://...", "json": {...}}');
  const fields = input as Record<string, unknown>;
  for (const name of Object.keys(fields))
    if (!FIELDS.has(name)) throw fieldError(name, `is not a field of a message (${[...FIELDS].join(', ')})`);
  const headers: Record<string, string> = { [RECORD_HEADERS.url]: targetUrl(fields.url, 'url') };
  let body: Buffer;
  if (fields.body !== undefined && fields.json !== undefined)
    throw fieldError('body', 'and json are exclusive: give one');
  if (fields.json !== undefined) {
    body = Buffer.from(JSON.stringify(fields.json), 'utf8');
    headers[RECORD_HEADERS.contentType] = 'application/json';
  } else if (typeof fields.body === 'string') body = Buffer.from(wellFormed(fields.body, 'body'), 'utf8');
  else if (fields.body === undefined) body = Buffer.alloc(0);
  else throw fieldError('body', 'must be a string (a JSON value goes in "json")');
  if (fields.contentType !== undefined) {
    const type = fields.contentType;
    if (typeof type !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+/.test(type))
      throw fieldError('contentType', 'must be a media type such as "text/plain; charset=utf-8"');
    headers[RECORD_HEADERS.contentType] = headerValue(type, 'contentType');
  }
  if (fields.key !== undefined) {
    if (typeof fields.key !== 'string' || fields.key.length === 0 || fields.key.length > MAX_KEY_LENGTH)
      throw fieldError('key', `must be a string of 1 to ${MAX_KEY_LENGTH} characters`);
    headers[RECORD_HEADERS.key] = wellFormed(fields.key, 'key');
  }
  if (fields.id !== undefined) {
    if (typeof fields.id !== 'string' || !ID.test(fields.id))
      throw fieldError(
        'id',
        'must be 1 to 256 visible ASCII characters without "." (it is signed as id.timestamp.body)',
      );
    headers[RECORD_HEADERS.id] = fields.id;
  }
  if (fields.headers !== undefined) userHeaders(fields.headers, headers);
  return { body, headers };
}

/**
 * Refuses a record the topic's log would refuse, before the topic is looked up: a push must not
 * create a topic (directories, a deliverer, a `maxTopics` slot) for a message it then fails to store.
 * @param maxRecordBytes the topic logs' `maxRecordBytes`
 * @throws {HttpError} 413 `message_too_large` naming `headers` or `body`.
 */
export function checkRecordFits(record: RecordInput, maxRecordBytes: number): void {
  const headerBytes = headersBytes(record.headers);
  if (headerBytes > MAX_HEADERS_BYTES)
    throw new HttpError(
      413,
      'message_too_large',
      `the message's headers, url, key and id take ${headerBytes} bytes stored: at most ${MAX_HEADERS_BYTES}`,
      { details: { field: 'headers', limit: MAX_HEADERS_BYTES } },
    );
  if (record.body.length + headerBytes > maxRecordBytes)
    throw new HttpError(413, 'message_too_large', `the message takes over ${maxRecordBytes} bytes stored`, {
      details: { field: 'body', limit: maxRecordBytes },
    });
}

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * Adds the push request's own W3C `traceparent` to the record when the message set none: the
 * delivery continues the producer's trace. A malformed one is left out rather than refused.
 */
export function inheritTraceparent(record: RecordInput, requestHeaders: IncomingHttpHeaders): RecordInput {
  const value = requestHeaders.traceparent;
  if (typeof value !== 'string' || !TRACEPARENT.test(value) || record.headers[RECORD_HEADERS.traceparent] !== undefined)
    return record;
  return { body: record.body, headers: { ...record.headers, [RECORD_HEADERS.traceparent]: value } };
}

/**
 * `value` when it is an absolute http(s) URL.
 * @throws {HttpError} 400 naming `field`.
 */
export function targetUrl(value: unknown, field: string): string {
  if (value === undefined || value === '') throw fieldError(field, 'is required: the URL to POST the message to', true);
  if (typeof value !== 'string' || value.length > 8192)
    throw fieldError(field, 'must be an absolute http: or https: URL');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw fieldError(field, `must be an absolute http: or https: URL (got ${JSON.stringify(value.slice(0, 200))})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw fieldError(field, `must be an http: or https: URL (got ${url.protocol})`);
  return value;
}

function userHeaders(value: unknown, into: Record<string, string>): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw fieldError('headers', 'must be an object of header names to string values');
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
    const field = `headers.${name}`;
    if (!TOKEN.test(name)) throw fieldError(field, 'is not an HTTP header name');
    const lower = name.toLowerCase();
    if (RESERVED.has(lower))
      throw fieldError(field, 'is set by the server for each attempt (the content type goes in "contentType")');
    if (typeof v !== 'string') throw fieldError(field, 'must be a string');
    const target = lower === RECORD_HEADERS.traceparent ? lower : `${RECORD_HEADERS.userPrefix}${lower}`;
    into[target] = headerValue(v, field);
  }
}

function headerValue(value: string, field: string): string {
  if (!FIELD_VALUE.test(value)) throw fieldError(field, 'holds a control character (CR, LF, NUL...)');
  return wellFormed(value, field);
}

/** A UTF-16 surrogate without its pair: a JSON string may hold one ("\ud800"), UTF-8 cannot. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * `value` when UTF-8 can hold it as it is.
 * @throws {HttpError} 400 naming `field` for a lone surrogate (it would be stored as U+FFFD).
 */
function wellFormed(value: string, field: string): string {
  if (LONE_SURROGATE.test(value))
    throw fieldError(field, 'holds a lone UTF-16 surrogate (such as "\\ud800"): it is not text UTF-8 can hold');
  return value;
}

/**
 * The record that delivers `item` again with the same id (dead-letter redrive): the inverse of
 * `recordToItem` for the headers the deliverer reads.
 */
export function itemRecord(item: DeliveryItem): RecordInput {
  return { body: item.body, headers: itemToRecordHeaders(item) };
}
