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
