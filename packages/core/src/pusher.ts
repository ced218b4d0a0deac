/** Extra facts a pusher may receive with a message, e.g. why it is being dead-lettered. */
export interface PushInfo {
  /** The last error, when the message is being dead-lettered. */
  readonly cause?: unknown;
  /** How many attempts were made, when the message is being dead-lettered. */
  readonly attempts?: number;
}

/**
 * go-zero's `Pusher`: writes a message to a destination. `push` resolves when the destination
 * accepted the message (for batching pushers: when it was buffered) and rejects when it could not.
 */
export interface Pusher<T = string> {
  /** A name for logs and metrics; composite pushers join their parts' names with ",". */
  name(): string;
  push(message: T, info?: PushInfo): void | Promise<void>;
}
