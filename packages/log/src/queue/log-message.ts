import type { OrderedEntry } from '@q/core/internal';
import type { LogRecord } from '../record.js';

/**
 * A record as a `Queue` fed by {@link logProducerFactory} hands it to its handlers: the
 * {@link LogRecord}'s fields, plus the flag its producer's ordered commits keep.
 */
export class LogMessage implements LogRecord, OrderedEntry {
  /** The record's sequence number. */
  readonly seq: number;
  /** When it was appended, in ms since the epoch. */
  readonly timestamp: number;
  /** Its headers (`{}` when none). */
  readonly headers: Readonly<Record<string, string>>;
  /** Its body. */
  readonly body: Buffer;
  /** Set by the producer once the message settled (consumed, dead-lettered, or failed and committed past). */
  done = false;

  constructor(record: LogRecord) {
    this.seq = record.seq;
    this.timestamp = record.timestamp;
    this.headers = record.headers;
    this.body = record.body;
  }
}
