import { QueueError } from '@q/core';

/**
 * The engine (or deliverer) was closed before the item finished: it was neither delivered nor
 * dead-lettered, so whoever handed it over still owns it (a log cursor does not move past it).
 */
export class DeliveryClosedError extends QueueError {
  override readonly code: string = 'Q_HTTP_CLOSED';

  constructor(message = 'The delivery engine is closed: the item was not finished') {
    super(message);
  }
}

/** Where a replay was asked to run, and what the log holds. */
export interface ReplayRange {
  /** The first seq asked for. */
  readonly from: number;
  /** The last seq asked for, when given. */
  readonly to?: number | undefined;
  /** The log's lowest stored seq. */
  readonly firstSeq: number;
  /** The log's last seq (`firstSeq - 1` when it is empty). */
  readonly lastSeq: number;
}

/**
 * A replay range the log cannot serve: `from` past the last seq or below the first stored one, or
 * `to < from`. Refused rather than clamped, because a replay that skips records silently is what it exists
 * to prevent.
 */
export class ReplayRangeError extends QueueError {
  override readonly code: string = 'Q_HTTP_REPLAY_RANGE';
  /** The range asked for and the log's bounds. */
  readonly range: ReplayRange;

  constructor(message: string, range: ReplayRange) {
    super(message);
    this.range = range;
  }
}

/**
 * `deliver()` was given an item it cannot send as it is (an empty id or one holding `.`, a body that is not
 * bytes, a header name or value HTTP does not allow). The item is refused at once, before any attempt: no
 * retry or dead letter could make it valid. An item whose URL is not an absolute http(s) URL is not refused
 * but dead-lettered (`invalid-url`), since the URL usually comes from the message.
 */
export class InvalidItemError extends QueueError {
  override readonly code: string = 'Q_HTTP_INVALID_ITEM';
  /** The item's field at fault (`id`, `body`, `headers.<name>`, ...). */
  readonly field: string;

  constructor(field: string, reason: string) {
    super(`Invalid delivery item: ${field} ${reason}`);
    this.field = field;
  }
}

/** The dead-letter log was closed before the call. */
export class DeadLettersClosedError extends QueueError {
  override readonly code: string = 'Q_HTTP_DEAD_LETTERS_CLOSED';

  constructor(dir: string) {
    super(`The dead letters at ${dir} are closed`);
  }
}

/**
 * Internal: `deliver()`'s promise of an item taken back by `withdraw()` rejects with it. Whoever withdrew
 * the item owns it again; nothing was settled.
 */
export class WithdrawnError extends QueueError {
  override readonly code: string = 'Q_HTTP_WITHDRAWN';

  constructor() {
    super('The item was withdrawn from the delivery engine while it waited for its retry');
  }
}

/**
 * The park log stopped for good (its reader ended, as after a failed fsync: @q/log asks to reopen it).
 * Its records wait for the next start; while keys are parked in it, the deliverer stops delivery, since
 * those keys' later records could only overtake them.
 */
export class ParkLogStoppedError extends QueueError {
  override readonly code: string = 'Q_HTTP_PARK_STOPPED';

  constructor(message = 'The park log stopped; restart the deliverer to reopen it') {
    super(message);
  }
}
