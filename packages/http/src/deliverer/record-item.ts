import type { LogRecord } from '@q/log';
import type { DeliveryItem } from '../delivery/types.js';

/** Record header naming the target URL. */
export const URL_HEADER = 'q-url';
/** Record header holding the ordering key. */
export const KEY_HEADER = 'q-key';
/** Record header holding an explicit, stable delivery id. */
export const ID_HEADER = 'q-id';
/** Record header holding the body's content type. */
export const CONTENT_TYPE_HEADER = 'q-content-type';
/** Prefix of the record headers that are sent as request headers (without it). */
export const USER_HEADER_PREFIX = 'q-h-';
/** The W3C trace context header, passed through as it is. */
const TRACEPARENT = 'traceparent';

/** How {@link recordToItem} fills what a record does not say. */
export interface RecordItemOptions {
  /** Target when the record has no `q-url` header (an item without one is dead-lettered as `invalid-url`). */
  readonly url?: string | undefined;
  /** Ids of records without `q-id` are `<idPrefix>_<seq>`. */
  readonly idPrefix: string;
  /** Overrides the `q-url` header and `url` when it returns a string. */
  readonly urlOf?: ((record: LogRecord) => string | undefined) | undefined;
  /** Overrides the `q-key` header (returning undefined means no key). */
  readonly keyOf?: ((record: LogRecord) => string | undefined) | undefined;
}

/**
 * The delivery of a log record: its URL (`urlOf`, else the `q-url` header, else `url`), key (`keyOf`, else
 * `q-key`; a lone surrogate in it reads as U+FFFD), id (`q-id`, else `<idPrefix>_<seq>`: the same on every read, so retries, restarts and replays
 * send one `webhook-id`), `content-type` from `q-content-type`, `traceparent`, and each `q-h-<name>` header as
 * `<name>`. `acceptedAt` is the record's timestamp (retries age from when it was appended), `seq` its seq.
 *
 * The body is copied: records of one read share a buffer, and an item waiting for its retries must not
 * keep the whole batch it was read with in memory.
 */
export function recordToItem(record: LogRecord, options: RecordItemOptions): DeliveryItem {
  const h = record.headers;
  let headers: Record<string, string> | undefined;
  for (const name in h) {
    let sent: string | undefined;
    if (name.startsWith(USER_HEADER_PREFIX)) sent = name.slice(USER_HEADER_PREFIX.length);
    else if (name === CONTENT_TYPE_HEADER) sent = 'content-type';
    else if (name === TRACEPARENT) sent = TRACEPARENT;
    if (sent === undefined || sent.length === 0) continue;
    headers ??= {};
    headers[sent] = h[name] as string;
  }
  // An explicit content type wins over a user header of the same name.
  const contentType = h[CONTENT_TYPE_HEADER];
  if (contentType !== undefined && headers !== undefined) headers['content-type'] = contentType;
  const url = options.urlOf?.(record) ?? h[URL_HEADER] ?? options.url ?? '';
  let key = options.keyOf !== undefined ? options.keyOf(record) : h[KEY_HEADER];
  // A parked record keeps its key in a UTF-8 header, which reads a lone surrogate back as U+FFFD: the key
  // must be the same before and after, or the parked key would never be found again.
  if (key !== undefined && !key.isWellFormed()) key = key.toWellFormed();
  return {
    id: h[ID_HEADER] ?? `${options.idPrefix}_${record.seq}`,
    url,
    body: Buffer.from(record.body),
    key,
    headers,
    acceptedAt: record.timestamp,
    seq: record.seq,
  };
}

/**
 * The record headers that {@link recordToItem} reads `item` back from: `q-url`, `q-id`, `q-key`, the
 * content type, `traceparent` and every other header as `q-h-<name>`. Redrive and parking store items
 * through it, so what they store is what the deliverer sends again.
 */
export function itemToRecordHeaders(item: DeliveryItem): Record<string, string> {
  const headers: Record<string, string> = { [URL_HEADER]: item.url, [ID_HEADER]: item.id };
  if (item.key !== undefined) headers[KEY_HEADER] = item.key;
  const sent = item.headers;
  for (const name in sent) {
    const value = sent[name] as string;
    const lower = name.toLowerCase();
    if (lower === 'content-type') headers[CONTENT_TYPE_HEADER] = value;
    else if (lower === 'traceparent') headers.traceparent = value;
    else headers[`${USER_HEADER_PREFIX}${lower}`] = value;
  }
  return headers;
}
