/** Passed to every handler call. */
export interface ConsumeContext {
  /** 1 on the first try, 2 on the first retry, and so on. */
  readonly attempt: number;
  /**
   * Aborted when the handler should give up: its `timeoutMs` expired, or the queue's stop deadline
   * passed. Handlers doing I/O should pass it on.
   */
  readonly signal: AbortSignal;
}

/**
 * go-zero's `Consumer`: handles messages. The queue makes one per consumer loop (so each may hold
 * state) and calls it for one message (or one batch) at a time, with events in between.
 */
export interface Consumer<T> {
  /** Handles one message. Throwing or rejecting fails this attempt (then retry, dead letter). */
  consume(message: T, context: ConsumeContext): void | Promise<void>;
  /**
   * Handles a batch of messages from one producer at once, for handlers that write in bulk. When
   * present (and no `keyOf` ordering is set) the queue hands batches of up to `batchSize` messages
   * here instead of calling {@link Consumer.consume}. Failure fails every message of the batch.
   */
  consumeBatch?(messages: readonly T[], context: ConsumeContext): void | Promise<void>;
  /** Receives each {@link Queue.broadcast} event, between messages, once. Errors are reported, never fatal. */
  onEvent?(event: unknown): void | Promise<void>;
  /**
   * Called once, after the queue's loops ended (bounded by the stop deadline). The queue closes each
   * distinct object its factory returned once: a shared instance gets one `close()`.
   */
  close?(): void | Promise<void>;
}

/**
 * go-zero's `ConsumerFactory`: makes one consumer per consumer loop (or returns one shared instance;
 * see {@link Consumer.close}). Failures are retried with back-off until the queue's stop deadline.
 */
export type ConsumerFactory<T> = () => Consumer<T> | Promise<Consumer<T>>;
