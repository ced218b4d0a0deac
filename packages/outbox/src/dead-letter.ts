import { join } from 'node:path';
import { InvalidOptionError, OUTBOX_ID_HEADER } from '@q/core';
import {
  headersBytes,
  type LogOptions,
  MAX_HEADERS_BYTES,
  openLog,
  RecordTooLargeError,
  type SegmentLog,
} from '@q/log';
import type { OutboxSinkMessage } from './sink-message.js';

/** The dead-letter log's directory, under the outbox's. */
export const DEAD_LETTER_DIR = 'dead-letter';
/** A cause's message is cut to this many characters in `q-error`. */
const MAX_ERROR_CHARS = 1024;
/** A cause's code is cut to this many characters in `q-error-code`. */
const MAX_CODE_CHARS = 256;
/**
 * Room the dead-letter log has beyond the outbox's `maxRecordBytes`: a message's headers and key moved
 * into an envelope (JSON escaping at most 6 bytes per byte of the 64 KiB of headers, base64 of the key)
 * plus the dead letter's own headers always fit it.
 */
export const DEAD_LETTER_ROOM_BYTES = 1024 * 1024;
/**
 * Header of a dead letter whose message's headers and key did not fit beside the dead letter's own (the
 * log's 64 KiB bound): its body starts with this many bytes of JSON, `{"headers":{...},"key":"<base64>"}`,
 * followed by the message's body.
 */
export const DEAD_LETTER_ENVELOPE_HEADER = 'q-envelope-bytes';
/**
 * Header of a dead letter stored without part of its message, because even the envelope was too large
 * for the dead-letter log: what is missing (`body,headers,key`). Reported on `error` when it happens.
 */
export const DEAD_LETTER_TRUNCATED_HEADER = 'q-truncated';

/** Header of a dead letter holding its message's key, base64 (when not in an envelope). */
const KEY_HEADER = 'q-key';
/**
 * The header names a dead letter adds beside its message's own: a message carrying one of them has its
 * headers in the envelope, or the dead letter's value would replace the message's (or a reader would
 * take its body for an envelope).
 */
const OWN_NAMES: ReadonlySet<string> = new Set([
  'q-error',
  'q-error-code',
  'q-attempts',
  'q-dead-lettered-at',
  KEY_HEADER,
  DEAD_LETTER_ENVELOPE_HEADER,
  DEAD_LETTER_TRUNCATED_HEADER,
]);

/**
 * How a dead letter was stored: as it was, with its headers and key in an envelope, or without them and
 * its body (`error` says why: the envelope was too large for the dead-letter log).
 */
export type DeadLetterForm =
  | { readonly form: 'whole' | 'envelope' }
  | { readonly form: 'truncated'; readonly error: unknown };

/** An append error that a retry cannot cure: the record's shape or size. */
export function refusedForGood(err: unknown): boolean {
  return err instanceof InvalidOptionError || err instanceof RecordTooLargeError;
}

/** `s` cut to `max` characters, marked with `...` when cut. */
function cut(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}...` : s;
}

/** What is known about why a message was refused. */
export interface Refusal {
  readonly cause: unknown;
  readonly attempts: number;
}

/**
 * The dead-letter log, `<dir>/dead-letter` (an `@q/log`, opened on the first dead letter): each message
 * the sink refused for good, with its body and headers and `q-outbox-id`, `q-error`, `q-error-code`,
 * `q-attempts`, `q-dead-lettered-at`. Read it with `q-log tail <dir>/dead-letter` or `openLog`.
 */
export class DeadLetters {
  readonly #options: LogOptions;
  #log: Promise<SegmentLog> | undefined;
  #closed = false;

  constructor(outboxDir: string, options: Omit<LogOptions, 'dir'>) {
    this.#options = { ...options, dir: join(outboxDir, DEAD_LETTER_DIR) };
  }

  /**
   * Stores `message` durably with its cause; resolves once it is safe (the forwarder then moves past it),
   * telling how. The dead letter's own headers (`q-outbox-id`, `q-error`, ...) are small and always fit;
   * when the message's headers and key (`q-key`) do not fit beside them (the log's 64 KiB bound on a
   * record's headers), or one of its headers has a name the dead letter uses, they go into an envelope at the start of the body (`q-envelope-bytes`); if even
   * that is too large for the log, the dead letter is stored without them and the body
   * (`q-truncated`), so that a refusal can never stop the forwarder. Rejects only with what a retry may
   * cure (an I/O error, the disk full).
   */
  async add(message: OutboxSinkMessage, refusal: Refusal): Promise<DeadLetterForm> {
    if (this.#closed) throw new Error('the dead-letter log is closed');
    const log = await this.#open();
    const cause = refusal.cause;
    const text = cause instanceof Error ? cause.message : String(cause);
    const code = (cause as { code?: unknown } | null)?.code;
    const own: Record<string, string> = {
      [OUTBOX_ID_HEADER]: message.headers[OUTBOX_ID_HEADER] ?? '',
      'q-error': cut(text, MAX_ERROR_CHARS),
      'q-error-code': typeof code === 'string' || typeof code === 'number' ? cut(String(code), MAX_CODE_CHARS) : '',
      'q-attempts': String(refusal.attempts),
      'q-dead-lettered-at': new Date().toISOString(),
    };
    const theirs: Record<string, string> = {};
    let collides = false;
    for (const name in message.headers) {
      if (name === OUTBOX_ID_HEADER) continue;
      define(theirs, name, message.headers[name] as string);
      if (OWN_NAMES.has(name)) collides = true;
    }
    const key = message.key.toString('base64');
    const max = this.#options.maxRecordBytes ?? Number.POSITIVE_INFINITY;
    const whole: Record<string, string> = { ...theirs, ...own, [KEY_HEADER]: key };
    if (!collides && headersBytes(whole) <= MAX_HEADERS_BYTES && message.body.length + headersBytes(whole) <= max) {
      try {
        await log.append({ body: message.body, headers: whole });
        return { form: 'whole' };
      } catch (err) {
        if (!refusedForGood(err)) throw err;
      }
    }
    const envelope = Buffer.from(JSON.stringify({ headers: theirs, key }));
    const enveloped = { ...own, [DEAD_LETTER_ENVELOPE_HEADER]: String(envelope.length) };
    const bytes = envelope.length + message.body.length + headersBytes(enveloped);
    let error: unknown = new RecordTooLargeError(bytes, max);
    if (bytes <= max) {
      try {
        await log.append({ body: Buffer.concat([envelope, message.body]), headers: enveloped });
        return { form: 'envelope' };
      } catch (err) {
        if (!refusedForGood(err)) throw err;
        error = err;
      }
    }
    await log.append({
      body: Buffer.alloc(0),
      headers: { ...own, [DEAD_LETTER_TRUNCATED_HEADER]: 'body,headers,key' },
    });
    return { form: 'truncated', error };
  }

  /** Closes the dead-letter log, if it was opened. */
  async close(): Promise<void> {
    this.#closed = true;
    const log = this.#log;
    if (log === undefined) return;
    await (await log.catch(() => undefined))?.close();
  }

  #open(): Promise<SegmentLog> {
    if (this.#log === undefined) {
      const opening = openLog(this.#options);
      this.#log = opening;
      // A failed open is tried again by the next dead letter (the forwarder retries with back-off).
      opening.catch(() => {
        if (this.#log === opening) this.#log = undefined;
      });
    }
    return this.#log;
  }
}

/** Sets `name` on `headers` as an own property, `__proto__` included. */
function define(headers: Record<string, string>, name: string, value: string): void {
  if (name === '__proto__')
    Object.defineProperty(headers, name, { value, enumerable: true, writable: true, configurable: true });
  else headers[name] = value;
}
