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
