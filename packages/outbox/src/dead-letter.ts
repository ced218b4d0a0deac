import { join } from 'node:path';
import { OUTBOX_ID_HEADER } from '@q/core';
import { type LogOptions, openLog, type SegmentLog } from '@q/log';
import type { OutboxSinkMessage } from './sink-message.js';

/** The dead-letter log's directory, under the outbox's. */
export const DEAD_LETTER_DIR = 'dead-letter';
/** A cause's message is cut to this many characters in `q-error`. */
const MAX_ERROR_CHARS = 1024;

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

  /** Stores `message` durably with its cause; resolves once it is safe (the forwarder then moves past it). */
  async add(message: OutboxSinkMessage, refusal: Refusal): Promise<void> {
    if (this.#closed) throw new Error('the dead-letter log is closed');
    const log = await this.#open();
    const cause = refusal.cause;
    const text = cause instanceof Error ? cause.message : String(cause);
    const code = (cause as { code?: unknown } | null)?.code;
    const headers: Record<string, string> = {
      ...message.headers,
      'q-error': text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS)}...` : text,
      'q-error-code': typeof code === 'string' || typeof code === 'number' ? String(code) : '',
      'q-attempts': String(refusal.attempts),
      'q-dead-lettered-at': new Date().toISOString(),
    };
    if (message.key !== null) headers['q-key'] = message.key.toString('base64');
    headers[OUTBOX_ID_HEADER] = message.headers[OUTBOX_ID_HEADER] ?? '';
    await log.append({ body: message.body, headers });
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
