import type { AppendInput, LogRecord } from '@q/log';
import type { DeliveryItem, Withdrawn } from '../delivery/types.js';
import { ID_HEADER, itemToRecordHeaders, KEY_HEADER, recordToItem, URL_HEADER } from './record-item.js';

/** Park record header: attempts made before it was parked. */
export const PARK_ATTEMPTS = 'q-park-attempts';
/** Park record header: no attempt before this instant (ms since the epoch). */
export const PARK_NOT_BEFORE = 'q-park-not-before';
/** Park record header: when the original record was accepted (ms since the epoch): `maxAgeMs` counts from it. */
export const PARK_ACCEPTED_AT = 'q-park-accepted-at';
/** Park record header: the seq of the original record. */
export const PARK_SEQ = 'q-park-seq';

/**
 * The park record of a withdrawn item: its body, and the headers {@link recordToItem} reads (`q-url`,
 * `q-content-type`, `traceparent`, `q-h-*`) with `q-id` always set (the id stays the same), plus its
 * attempts, retry time, acceptance time and original seq. Only keyless items are parked, so no `q-key`.
 */
export function parkRecord(item: DeliveryItem, withdrawn: Withdrawn): AppendInput {
  return { body: item.body, headers: parkHeaders(item, withdrawn) };
}

function parkHeaders(item: DeliveryItem, withdrawn: Withdrawn): Record<string, string> {
  const headers = itemToRecordHeaders(item);
  headers[PARK_ATTEMPTS] = String(withdrawn.attempts);
  headers[PARK_NOT_BEFORE] = String(withdrawn.nextAttemptAt);
  if (item.acceptedAt !== undefined) headers[PARK_ACCEPTED_AT] = String(item.acceptedAt);
  if (item.seq !== undefined) headers[PARK_SEQ] = String(item.seq);
  return headers;
}

/** Most bytes of headers a `@q/log` record may have (encoded: 4 bytes of lengths per entry, name, value). */
const MAX_HEADERS_BYTES = 0xffff;

/**
 * The park log's record size limit: @q/log's largest. A park record is the original plus about 100 bytes
 * of headers, so a record at the main log's largest may not fit: {@link parkable} says so.
 */
export const PARK_MAX_RECORD_BYTES = 2 ** 30;

/** Encoded bytes of a header entry beside its name and value: two 16-bit lengths. */
const ENTRY_BYTES = 4;
/**
 * The most bytes the `q-park-*` entries may take: their names, and numbers of at most 16 digits
 * (`Number.MAX_SAFE_INTEGER`).
 */
const PARK_ENTRIES_BYTES = [PARK_ATTEMPTS, PARK_NOT_BEFORE, PARK_ACCEPTED_AT, PARK_SEQ].reduce(
  (n, name) => n + ENTRY_BYTES + name.length + 16,
  0,
);

/**
 * Whether the park record of `item` fits the park log. Its headers are the original's plus `q-id` and the
 * `q-park-*` ones, so a record valid in the main log may be refused here; withdrawn and sent along, it would
 * fail its whole batch, round after round, and nothing would be parked again. Counted, not built: a park
 * round asks it of every record it may take.
 */
export function parkable(item: DeliveryItem): boolean {
  let n = PARK_ENTRIES_BYTES;
  n += ENTRY_BYTES + URL_HEADER.length + Buffer.byteLength(item.url);
  n += ENTRY_BYTES + ID_HEADER.length + Buffer.byteLength(item.id);
  if (item.key !== undefined) n += ENTRY_BYTES + KEY_HEADER.length + Buffer.byteLength(item.key);
  const sent = item.headers;
  // Each sent header becomes `q-h-<lower-case name>`, `q-content-type` or `traceparent`: `q-h-` and 14 bytes
  // more than the lower-case name at most.
  for (const name in sent) {
    n += ENTRY_BYTES + 14 + Buffer.byteLength(name.toLowerCase()) + Buffer.byteLength(sent[name] as string);
  }
  return n <= MAX_HEADERS_BYTES && item.body.length + n <= PARK_MAX_RECORD_BYTES;
}

/** The item of a park record: the same id, URL, body, headers and acceptance time, its attempts and retry time. */
export function parkedToItem(record: LogRecord): DeliveryItem {
  const item = recordToItem(record, { idPrefix: 'parked' });
  const h = record.headers;
  return {
    ...item,
    acceptedAt: numberHeader(h[PARK_ACCEPTED_AT]) ?? record.timestamp,
    seq: numberHeader(h[PARK_SEQ]),
    attempts: numberHeader(h[PARK_ATTEMPTS]) ?? 0,
    notBefore: numberHeader(h[PARK_NOT_BEFORE]),
  };
}

/** When a park record's next attempt is due (ms since the epoch), if it says. */
export function parkedNotBefore(record: LogRecord): number | undefined {
  return numberHeader(record.headers[PARK_NOT_BEFORE]);
}

function numberHeader(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}
