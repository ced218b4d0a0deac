/**
 * `@q/outbox`: producing that never loses a message when the broker is down. `send()` resolves once the
 * message is fsync'd in a local `@q/log` (or confirmed by the sink, direct-first); a forwarder pushes the
 * log to a confirming sink (Kafka, Redis) with stable ids for de-duplication, back-off, dead letters.
 * @packageDocumentation
 */
export { DEAD_LETTER_DIR, DEAD_LETTER_ENVELOPE_HEADER, DEAD_LETTER_TRUNCATED_HEADER } from './dead-letter.js';
export { DirectTimeoutError, OutboxClosedError, OutboxFileError, OutboxFullError } from './errors.js';
export type { OutboxErrorStage, OutboxEvents, SpillReason } from './events.js';
export { FORWARD_CURSOR } from './forwarder.js';
export type { OutboxInput } from './message.js';
export type { OutboxOptions, OutboxSink } from './options.js';
export { Outbox, type SendOptions, type SendResult } from './outbox.js';
export { isPermanentByDefault } from './permanent.js';
export type { OutboxSinkMessage } from './sink-message.js';
export type { OutboxStats } from './stats.js';
