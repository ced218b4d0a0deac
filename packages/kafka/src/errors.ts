import { QueueError } from '@q/core';

/** A message is larger than the broker accepts (`maxMessageBytes`). */
export class MessageTooLargeError extends QueueError {
  readonly bytes: number;
  readonly limit: number;
  constructor(bytes: number, limit: number) {
    super(`message of ${bytes} bytes is over the limit of ${limit} bytes (maxMessageBytes)`);
    this.bytes = bytes;
    this.limit = limit;
  }
}

/**
 * The broker refused a commit's metadata as longer than its `offset.metadata.max.bytes`: the offset
 * map did not fit. The commit is then sent again without maps.
 */
export class OffsetMetadataTooLargeError extends QueueError {
  constructor(cause: unknown) {
    super("offset commit metadata is over the broker's offset.metadata.max.bytes", { cause });
  }
}
