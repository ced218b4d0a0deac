import { QueueError } from '@q/core';

/** The outbox was closed (or is closing) before the call: the message was not taken. */
export class OutboxClosedError extends QueueError {
  override readonly code: string = 'Q_OUTBOX_CLOSED';

  constructor(dir: string) {
    super(`Outbox ${dir} is closed: message not taken`);
  }
}

/**
 * The outbox's log is full (`maxBytes` reached, or the disk is full: the `cause` is `@q/log`'s
 * `LogFullError`) and `whenFull` is `'reject'`: the message was not taken, nothing of it is stored.
 */
export class OutboxFullError extends QueueError {
  override readonly code: string = 'Q_OUTBOX_FULL';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * One of the outbox's own files (`OUTBOX`, the outbox id, or `SEQ`, the sequence reservation) holds
 * something this version never writes: the outbox refuses to open rather than guess an id or hand out
 * sequence numbers that may have been used.
 */
export class OutboxFileError extends QueueError {
  override readonly code: string = 'Q_OUTBOX_FILE';
  /** The file's path. */
  readonly file: string;

  constructor(file: string, reason: string) {
    super(`Outbox file ${file}: ${reason}`);
    this.file = file;
  }
}

/**
 * Direct-first: the sink did not confirm a direct batch within `directTimeoutMs`. Its messages were
 * spilled to the log (so the sends do not fail); this is the `error` of the `sink-down` event.
 */
export class DirectTimeoutError extends QueueError {
  override readonly code: string = 'Q_OUTBOX_DIRECT_TIMEOUT';
  /** The limit, in milliseconds. */
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(`The sink did not confirm a direct batch within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}
