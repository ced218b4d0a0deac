import { QueueError } from '@q/core';

/** The Redis server is older than the commands a mode needs. */
export class RedisVersionError extends QueueError {
  override readonly code: string = 'Q_REDIS_VERSION';
  /** The server's version, as INFO reports it. */
  readonly version: string;
  /** The lowest version that works. */
  readonly required: string;

  constructor(version: string, required: string, feature: string) {
    super(`Redis ${version} is too old for ${feature}: it needs Redis ${required} or newer`);
    this.version = version;
    this.required = required;
  }
}

/** A message that is neither a string nor a Buffer was given to a Redis pusher. */
export class InvalidMessageError extends QueueError {
  override readonly code: string = 'Q_INVALID_MESSAGE';
  /**
   * The value that is neither a string nor a Buffer. Not enumerable: loggers print an error's own
   * enumerable properties, and the value is a message, which this library never logs.
   */
  declare readonly value: unknown;
  constructor(value: unknown) {
    super(`Redis messages must be strings or Buffers, got ${value === null ? 'null' : typeof value}`);
    Object.defineProperty(this, 'value', { value, enumerable: false });
  }
}

/**
 * A {@link RedisListPusher} with `dedupe: 'outbox-id'` was given a message without a valid
 * `q-outbox-id` header (`<outbox>:<seq>`, see `parseOutboxId` of `@q/core`): such a message cannot be
 * de-duplicated, so it is refused rather than pushed. From `pushBatch`, the whole batch is refused and
 * nothing of it is written; `index` says which message it was.
 */
export class InvalidOutboxIdError extends QueueError {
  override readonly code: string = 'Q_INVALID_OUTBOX_ID';
  /** The message's position in the batch given to `pushBatch`; `undefined` for `push` and `pushAndConfirm`. */
  readonly index: number | undefined;
  /** The header's value as given (an id, not a body), or `undefined` when there was none. */
  readonly id: unknown;
  /**
   * The refused message. Not enumerable: loggers print an error's own enumerable properties, and the
   * value is a message, which this library never logs.
   */
  declare readonly value: unknown;
  constructor(value: unknown, id: unknown, index?: number) {
    super(
      `${index === undefined ? 'the message' : `message ${index} of the batch`} has ${
        id === undefined ? 'no q-outbox-id header' : 'a q-outbox-id header that is not "<outbox>:<seq>"'
      }: with dedupe 'outbox-id', every message needs one`,
    );
    this.index = index;
    // An id is no body, but a header that is not one may be anything: kept short.
    this.id = id === undefined ? undefined : String(id).slice(0, 200);
    Object.defineProperty(this, 'value', { value, enumerable: false });
  }
}
