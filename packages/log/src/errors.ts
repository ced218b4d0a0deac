import { QueueError } from '@q/core';

/** Another live process holds the log directory's `LOCK` file: one writer per directory. */
export class LogLockedError extends QueueError {
  override readonly code: string = 'Q_LOG_LOCKED';
  /** The directory asked for. */
  readonly dir: string;
  /** The pid written in the lock file. */
  readonly pid: number;

  constructor(dir: string, pid: number) {
    super(`Log directory ${dir} is locked by the live process ${pid}`);
    this.dir = dir;
    this.pid = pid;
  }
}

/**
 * A record that fails its checksum (or its framing) is followed by valid data, so it is damage, not a
 * torn tail: the log refuses to open (or to read past it) rather than skip it. `onCorruption: 'truncate'`
 * cuts the last segment there instead.
 */
export class LogCorruptionError extends QueueError {
  override readonly code: string = 'Q_LOG_CORRUPTION';
  /** The segment file's name (`<first seq>.seg`). */
  readonly segment: string;
  /** Byte offset of the bad frame in that file. */
  readonly offset: number;
  /** What was wrong (`checksum mismatch`, `sequence 12 where 11 was expected`, ...). */
  readonly reason: string;

  constructor(segment: string, offset: number, reason: string) {
    super(`Log corruption in ${segment} at byte ${offset}: ${reason}`);
    this.segment = segment;
    this.offset = offset;
    this.reason = reason;
  }
}

/** A record's body plus encoded headers is larger than `maxRecordBytes`. */
export class RecordTooLargeError extends QueueError {
  override readonly code: string = 'Q_LOG_RECORD_TOO_LARGE';
  /** The record's size (body + encoded headers) in bytes. */
  readonly bytes: number;
  /** The configured maximum. */
  readonly maxRecordBytes: number;

  constructor(bytes: number, maxRecordBytes: number) {
    super(`Record of ${bytes} bytes is larger than maxRecordBytes (${maxRecordBytes})`);
    this.bytes = bytes;
    this.maxRecordBytes = maxRecordBytes;
  }
}

/**
 * The disk is full (`ENOSPC`, `EDQUOT`, as `cause`), or the log reached `maxBytes` with `whenFull: 'reject'`.
 * Nothing of the rejected append is stored; appends work again once space returns.
 */
export class LogFullError extends QueueError {
  override readonly code: string = 'Q_LOG_FULL';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** The log was closed (or is closing) before the call. */
export class LogClosedError extends QueueError {
  override readonly code: string = 'Q_LOG_CLOSED';

  constructor(dir: string) {
    super(`Log ${dir} is closed`);
  }
}

/**
 * An `fdatasync` (or a write whose outcome is unknown) failed. After a failed writeback Linux may drop the
 * dirty pages and report success on a retry, so the log stops acknowledging for good (fsyncgate): every
 * pending and later append rejects with this error until the log is closed and reopened, which recovers
 * from what the disk really holds.
 */
export class LogSyncError extends QueueError {
  override readonly code: string = 'Q_LOG_SYNC';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}
