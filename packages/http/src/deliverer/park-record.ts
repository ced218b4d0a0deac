import { type AppendInput, headersBytes, type LogRecord, MAX_HEADERS_BYTES, MAX_RECORD_BYTES_LIMIT } from '@q/log';
import type { DeliveryItem, Withdrawn } from '../delivery/types.js';
import { itemToRecordHeaders, recordToItem } from './record-item.js';

/** Park record header: attempts made before it was parked. */
export const PARK_ATTEMPTS = 'q-park-attempts';
/** Park record header: no attempt before this instant (ms since the epoch). */
export const PARK_NOT_BEFORE = 'q-park-not-before';
/** Park record header: when the original record was accepted (ms since the epoch): `maxAgeMs` counts from it. */
export const PARK_ACCEPTED_AT = 'q-park-accepted-at';
/** Park record header: the seq of the original record. */
export const PARK_SEQ = 'q-park-seq';
/**
 * Park record header: the placement of a keyed record's key it belongs to (absent: 0). The park run moves a
 * key's records to the end of the park log as a new placement; a record of an older one is moved again when
 * read (see `ParkedKeys`).
 */
export const PARK_GEN = 'q-park-gen';

/**
 * The park record of a withdrawn item: its body, and the headers {@link recordToItem} reads (`q-url`,
 * `q-content-type`, `traceparent`, `q-h-*`) with `q-id` always set (the id stays the same), plus its
 * attempts, retry time, acceptance time and original seq, and for a keyed one (`q-key`) its placement `gen`.
 */
export function parkRecord(item: DeliveryItem, withdrawn: Withdrawn, gen = 0): AppendInput {
  return { body: item.body, headers: parkHeaders(item, withdrawn, gen) };
}

function parkHeaders(item: DeliveryItem, withdrawn: Withdrawn, gen: number): Record<string, string> {
  const headers = itemToRecordHeaders(item);
  if (gen > 0) headers[PARK_GEN] = String(gen);
  headers[PARK_ATTEMPTS] = String(withdrawn.attempts);
  headers[PARK_NOT_BEFORE] = String(withdrawn.nextAttemptAt);
  if (item.acceptedAt !== undefined) headers[PARK_ACCEPTED_AT] = String(item.acceptedAt);
  if (item.seq !== undefined) headers[PARK_SEQ] = String(item.seq);
  return headers;
}

/** The widest attempts and retry time a park record may carry, to size it before the item is withdrawn. */
const WIDEST: Withdrawn = { attempts: Number.MAX_SAFE_INTEGER, nextAttemptAt: Number.MAX_SAFE_INTEGER, cause: '' };

/**
 * Whether the park record of `item` fits the park log (its headers, and with its body the log's largest
 * record). Its headers are the original's plus `q-id` and the `q-park-*` ones, so a record valid in the main
 * log may be refused here; withdrawn and sent along, it would fail its whole batch, round after round, and
 * nothing would be parked again. Park rounds ask it only of records the engine would let go.
 */
export function parkable(item: DeliveryItem): boolean {
  const bytes = headersBytes(parkHeaders(item, WIDEST, Number.MAX_SAFE_INTEGER));
  return bytes <= MAX_HEADERS_BYTES && item.body.length + bytes <= MAX_RECORD_BYTES_LIMIT;
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

/** The placement a keyed park record belongs to (0 when it says none). */
export function parkedGen(record: LogRecord): number {
  return numberHeader(record.headers[PARK_GEN]) ?? 0;
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
