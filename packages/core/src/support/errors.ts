/** Base class of every error thrown by `@q/core`, so callers can tell ours from their own. */
export class QueueError extends Error {
  /** A stable identifier of the error's kind, for code that must not match on messages. */
  readonly code: string = 'Q_ERROR';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * An option (constructor argument, setter value or call argument) is outside its allowed values.
 * Thrown synchronously, before anything runs.
 */
export class InvalidOptionError extends QueueError {
  override readonly code: string = 'Q_INVALID_OPTION';
  /** The option's name, as written in the options object (`producers`, `retry.attempts`, ...). */
  readonly option: string;
  /** The rejected value. */
  readonly value: unknown;
  /** The allowed values, in words (`an integer >= 1`). */
  readonly allowed: string;

  constructor(option: string, value: unknown, allowed: string) {
    super(`Invalid option "${option}": got ${describe(value)}, expected ${allowed}`);
    this.option = option;
    this.value = value;
    this.allowed = allowed;
  }
}

/** A method was called in a lifecycle state that does not allow it (`start()` twice, a setter after start). */
export class QueueStateError extends QueueError {
  override readonly code: string = 'Q_INVALID_STATE';
  /** The lifecycle state at the time of the call. */
  readonly state: string;

  constructor(message: string, state: string) {
    super(`${message} (queue state: ${state})`);
    this.state = state;
  }
}

/** A handler (`consume`, `consumeBatch` or `onEvent`) did not settle within the queue's `timeoutMs`. */
export class HandlerTimeoutError extends QueueError {
  override readonly code: string = 'Q_HANDLER_TIMEOUT';
  /** The limit that was exceeded, in milliseconds. */
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(`Handler did not finish within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** A send was attempted on a closed {@link Channel}. */
export class ChannelClosedError extends QueueError {
  override readonly code: string = 'Q_CHANNEL_CLOSED';
  constructor() {
    super('Channel is closed');
  }
}

/** go-zero's `ErrNoAvailablePusher`: a {@link BalancedPusher} has no pusher, or every pusher failed. */
export class NoAvailablePusherError extends QueueError {
  override readonly code: string = 'Q_NO_AVAILABLE_PUSHER';
  constructor(options?: ErrorOptions) {
    super('no available pusher', options);
  }
}

/**
 * A {@link MultiPusher} push failed on one or more of its pushers; `errors` holds each cause (as
 * in an `AggregateError`, which it is not: every `@q/core` error is a {@link QueueError}).
 */
export class MultiPushError extends QueueError {
  override readonly code: string = 'Q_MULTI_PUSH';
  /** Each pusher's failure, in the order of the pushers. */
  readonly errors: readonly unknown[];
  constructor(errors: readonly unknown[]) {
    super(`${errors.length} pusher(s) failed`, { cause: errors[0] });
    this.errors = errors;
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return 'an array';
  return 'an object';
}

/** An executor was used after `close()`. */
export class ExecutorClosedError extends QueueError {
  override readonly code: string = 'Q_EXECUTOR_CLOSED';
  constructor(executor: string) {
    super(`${executor} is closed`);
  }
}
