import { InvalidOptionError, OUTBOX_ID_HEADER } from '@q/core';
import { type AppendInput, headersBytes, type LogRecord, MAX_HEADERS_BYTES, RecordTooLargeError } from '@q/log';
import { type OutboxSinkMessage, SinkMessage } from './sink-message.js';

/** Header of a log record carrying its sequence number from the `SEQ` counter. */
export const SEQ_HEADER = 'q-outbox-seq';
/** Header of a log record carrying a string key. */
export const KEY_HEADER = 'q-outbox-key';
/** Header of a log record carrying a Buffer key, base64. */
export const KEY64_HEADER = 'q-outbox-key64';
/** Header of a log record carrying its idempotency key. */
export const IDEMPOTENCY_HEADER = 'q-idempotency-key';
/** Header of each record of a multi-message `sendBatch`: `<index>/<count>`, by which a torn batch is found. */
export const BATCH_HEADER = 'q-outbox-batch';

/** What `send` and `sendBatch` take for one message. */
export interface OutboxInput {
  /** The message's bytes (a string is sent as UTF-8). */
  readonly body: string | Buffer;
  /** Its key: Kafka picks the partition by it; Redis ignores it. @default none */
  readonly key?: string | Buffer;
  /** Headers for the sink (Kafka writes them); names starting `q-outbox-` are the outbox's own. @default none */
  readonly headers?: Readonly<Record<string, string>>;
  /** A client-chosen key: a second send with a key still remembered stores nothing. @default none */
  readonly idempotencyKey?: string;
}

/** A message validated and measured, before it gets its sequence number. */
export interface Accepted {
  readonly body: Buffer;
  readonly key: string | Buffer | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;
  readonly idempotencyKey: string | undefined;
  /** Body plus encoded headers, as stored (without the seq header). */
  readonly bytes: number;
  /** `<index>/<count>` within a multi-message `sendBatch` (its record's `q-outbox-batch`). */
  readonly part?: string;
}

/** Room kept for the headers a record may get after it was measured: `q-outbox-seq`, `q-outbox-batch`. */
const SEQ_HEADER_ROOM = 4 + SEQ_HEADER.length + 16 + (4 + BATCH_HEADER.length + 19);

/**
 * Sets a header on a fresh object. A plain assignment of `__proto__` would set the object's prototype
 * (a string is ignored) and silently drop the header; `@q/log` stores it as an own property, so do we.
 */
export function setHeader(headers: Record<string, string>, name: string, value: string): void {
  if (name === '__proto__')
    Object.defineProperty(headers, name, { value, enumerable: true, writable: true, configurable: true });
  else headers[name] = value;
}

/** {@link accept} for a bare body (no key, headers or idempotency key): the common send. */
export function acceptBody(raw: string | Buffer, maxRecordBytes: number): Accepted {
  const body = typeof raw === 'string' ? Buffer.from(raw) : raw;
  if (body.length + SEQ_HEADER_ROOM > maxRecordBytes)
    throw new RecordTooLargeError(body.length + SEQ_HEADER_ROOM, maxRecordBytes);
  return { body, key: undefined, headers: undefined, idempotencyKey: undefined, bytes: body.length };
}

/**
 * Checks one message (throws `InvalidOptionError` naming the field, `RecordTooLargeError` when it cannot
 * fit a record) and returns it with its record headers.
 */
export function accept(input: OutboxInput, maxRecordBytes: number, field = 'body'): Accepted {
  const raw = input.body;
  if (typeof raw !== 'string' && !Buffer.isBuffer(raw))
    throw new InvalidOptionError(field, raw, 'a string or a Buffer');
  const body = typeof raw === 'string' ? Buffer.from(raw) : raw;
  const { key, idempotencyKey } = input;
  if (key !== undefined && typeof key !== 'string' && !Buffer.isBuffer(key))
    throw new InvalidOptionError('key', key, 'a string or a Buffer');
  if (
    idempotencyKey !== undefined &&
    (typeof idempotencyKey !== 'string' || idempotencyKey.length === 0 || idempotencyKey.length > 1024)
  )
    throw new InvalidOptionError('idempotencyKey', idempotencyKey, 'a string of 1 to 1024 characters');
  let headers: Record<string, string> | undefined;
  if (input.headers !== undefined) {
    if (typeof input.headers !== 'object' || input.headers === null)
      throw new InvalidOptionError('headers', input.headers, 'an object of strings');
    for (const name in input.headers) {
      const value = input.headers[name];
      if (typeof value !== 'string') throw new InvalidOptionError(`headers.${name}`, value, 'a string');
      if (name.startsWith('q-outbox-') || name === IDEMPOTENCY_HEADER || name === OUTBOX_ID_HEADER)
        throw new InvalidOptionError(
          `headers.${name}`,
          value,
          'no header named q-outbox-* or q-idempotency-key (the outbox sets them)',
        );
      headers ??= {};
      setHeader(headers, name, value);
    }
  }
  if (key !== undefined) {
    headers ??= {};
    if (typeof key === 'string') headers[KEY_HEADER] = key;
    else headers[KEY64_HEADER] = key.toString('base64');
  }
  if (idempotencyKey !== undefined) {
    headers ??= {};
    headers[IDEMPOTENCY_HEADER] = idempotencyKey;
  }
  // Checked here, for this send alone: the log refuses a whole append group for one record's headers.
  const hBytes = headersBytes(headers);
  if (hBytes + SEQ_HEADER_ROOM > MAX_HEADERS_BYTES)
    throw new InvalidOptionError(
      'headers',
      `${hBytes} bytes encoded with the key and idempotency key`,
      `at most ${MAX_HEADERS_BYTES - SEQ_HEADER_ROOM} bytes encoded (4 per header, plus names and values as UTF-8; the key and idempotencyKey count)`,
    );
  const bytes = body.length + hBytes;
  if (bytes + SEQ_HEADER_ROOM > maxRecordBytes) throw new RecordTooLargeError(bytes + SEQ_HEADER_ROOM, maxRecordBytes);
  return { body, key, headers, idempotencyKey, bytes };
}

/** The log record of a message: its body, and headers with `q-outbox-seq` when `seq` comes from the counter. */
export function recordOf(a: Accepted, seq: number | undefined): AppendInput {
  if (a.part !== undefined)
    return {
      body: a.body,
      headers:
        seq === undefined
          ? { ...a.headers, [BATCH_HEADER]: a.part }
          : { ...a.headers, [BATCH_HEADER]: a.part, [SEQ_HEADER]: String(seq) },
    };
  if (seq === undefined) return a.headers === undefined ? a.body : { body: a.body, headers: a.headers };
  return { body: a.body, headers: { ...a.headers, [SEQ_HEADER]: String(seq) } };
}

/** Bytes a record counts in the backlog: body plus encoded headers. */
export function recordBytes(record: LogRecord): number {
  return record.body.length + headersBytes(record.headers);
}

/** A message's sequence number: the counter's, carried in `q-outbox-seq`, else the log's. */
export function seqOf(record: LogRecord): number {
  const carried = record.headers[SEQ_HEADER];
  return carried === undefined ? record.seq : Number(carried);
}

/** What the sink gets for a log record: its body, key, the user's headers and `q-outbox-id`. */
export function sinkMessageOfRecord(record: LogRecord, outbox: string): OutboxSinkMessage {
  const h = record.headers;
  const headers: Record<string, string> = {};
  let key: Buffer | undefined;
  for (const name in h) {
    const value = h[name] as string;
    if (name === KEY_HEADER) key = Buffer.from(value);
    else if (name === KEY64_HEADER) key = Buffer.from(value, 'base64');
    else if (name !== SEQ_HEADER && name !== IDEMPOTENCY_HEADER && name !== BATCH_HEADER)
      setHeader(headers, name, value);
  }
  return new SinkMessage(record.body, headers, key, outbox, seqOf(record));
}

/** What the sink gets for a message sent directly (direct-first). */
export function sinkMessageOfAccepted(a: Accepted, outbox: string, seq: number): OutboxSinkMessage {
  const headers: Record<string, string> = {};
  const h = a.headers;
  if (h !== undefined)
    for (const name in h)
      if (name !== KEY_HEADER && name !== KEY64_HEADER && name !== IDEMPOTENCY_HEADER)
        setHeader(headers, name, h[name] as string);
  const key = a.key === undefined ? undefined : typeof a.key === 'string' ? Buffer.from(a.key) : a.key;
  return new SinkMessage(a.body, headers, key, outbox, seq);
}
