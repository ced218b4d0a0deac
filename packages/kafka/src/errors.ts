import { QueueError } from '@q/core';

/** A message is larger than the broker accepts (`maxMessageBytes`). */
export class MessageTooLargeError extends QueueError {
  override readonly code: string = 'Q_MESSAGE_TOO_LARGE';
  /** The size of the message that was refused, in bytes. */
  readonly bytes: number;
  /** The `maxMessageBytes` it is over. */
  readonly limit: number;
  /** Its place in the batch, when it came in a `pushBatch` (which then sent nothing). */
  readonly index: number | undefined;
  /** Its `q-outbox-id` header, when it came in a `pushBatch` and had one. */
  readonly id: string | undefined;
  /** @param inBatch where the message sat in a `pushBatch`, and its outbox id if any. */
  constructor(bytes: number, limit: number, inBatch?: { index: number; id?: string | undefined }) {
    const which =
      inBatch === undefined
        ? 'message'
        : `message ${inBatch.index} of the batch${inBatch.id === undefined ? '' : ` (q-outbox-id ${inBatch.id})`}`;
    super(`${which} of ${bytes} bytes is over the limit of ${limit} bytes (maxMessageBytes)`);
    this.bytes = bytes;
    this.limit = limit;
    this.index = inBatch?.index;
    this.id = inBatch?.id;
  }
}

/**
 * The broker refused a commit's metadata as longer than its `offset.metadata.max.bytes`: the offset
 * map did not fit. The commit is then sent again without maps.
 */
export class OffsetMetadataTooLargeError extends QueueError {
  override readonly code: string = 'Q_OFFSET_METADATA_TOO_LARGE';
  constructor(cause: unknown) {
    super("offset commit metadata is over the broker's offset.metadata.max.bytes", { cause });
  }
}

/**
 * A write that `KafkaPusher.close({ timeoutMs })` gave up on: whether the broker stored it is
 * unknown (a confirming caller must treat the message as not delivered, and may see it twice).
 */
export class WriteAbandonedError extends QueueError {
  override readonly code: string = 'Q_WRITE_ABANDONED';
  constructor(topic: string) {
    super(`the write to ${topic} was abandoned by close(): its outcome is unknown`);
  }
}
