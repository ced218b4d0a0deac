/**
 * `@q/log`: an embedded, append-only durable log on the local filesystem with group-committed `fdatasync`,
 * crash recovery that cuts torn tails and never skips a record, tailing readers, cursors and retention.
 * @packageDocumentation
 */
export { crc32c } from './crc32c.js';
export type { Cursor } from './cursor.js';
export {
  LogClosedError,
  LogCorruptionError,
  LogFullError,
  LogLockedError,
  LogSyncError,
  RecordTooLargeError,
} from './errors.js';
export { headersBytes, MAX_HEADERS_BYTES, MAX_RECORD_BYTES_LIMIT } from './format.js';
export type { LogOptions, SyncMode } from './options.js';
export { LogMessage } from './queue/log-message.js';
export { type LogProducerOptions, logProducerFactory } from './queue/log-producer.js';
export { LogPusher, type LogPusherOptions } from './queue/log-pusher.js';
export type { AppendInput, LogRecord } from './record.js';
export type { RecoveryReport } from './recovery.js';
export { openLog, SegmentLog } from './segment-log.js';
export { TailCacheBudget } from './tail-cache-budget.js';
