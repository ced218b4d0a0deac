import type { ConfirmAbortedError } from '../executors/confirm-aborted-error.js';
import type { DeathReason } from '../semantics/death-record.js';

/** Extra facts a pusher may receive with a message, e.g. why it is being dead-lettered. */
export interface PushInfo {
  /** The last error, when the message is being dead-lettered. */
  readonly cause?: unknown;
  /** How many attempts were made, when the message is being dead-lettered. */
  readonly attempts?: number;
  /**
   * Why the message is being dead-lettered, for the dead-letter record (`q-death`) a pusher adds.
   * The Queue's dead letters (a handler failed every attempt) leave it out, which means `rejected`;
   * sources pass `expired`, `maxlen` or `delivery-limit` for what they dead-letter themselves.
   * @default "rejected" when `cause` or `attempts` is set
   */
  readonly reason?: DeathReason;
  /**
   * Ends the caller's wait for a confirm (`pushAndConfirm`, or `push` on a pusher that confirms every
   * push): once aborted, that promise rejects with {@link ConfirmAbortedError} (code
   * `Q_CONFIRM_ABORTED`) at once. Only this caller stops waiting: the message may already be on its
   * way and may still be delivered, so its outcome is unknown, and it is never reported as
   * confirmed; the other messages of its batch are written and confirmed as usual. Already aborted
   * at the call: the message is not pushed. Pushers that cannot end a wait ignore it. The Queue
   * passes its stop deadline here for dead-letter pushes.
   * @default none
   */
  readonly signal?: AbortSignal;
}

/**
 * go-zero's `Pusher`: writes a message to a destination. `push` resolves when the destination
 * accepted the message (for batching pushers: when it was buffered) and rejects when it could not.
 */
export interface Pusher<T = string> {
  /** A name for logs and metrics; composite pushers join their parts' names with ",". */
  name(): string;
  /**
   * Writes `message`: resolves (or returns) once the destination accepted it, rejects (or throws)
   * when it could not. `info` says why it is pushed (a dead letter's cause and attempts).
   */
  push(message: T, info?: PushInfo): void | Promise<void>;
  /**
   * Resolves only once the destination confirmed the message (Redis replied to its write, the Kafka
   * broker acknowledged it with the pusher's acks), and rejects when it did not. Pushers that batch
   * implement it so that a caller who must not lose a message (the Queue's dead letter) can wait for
   * the write itself rather than for the buffer. Optional: a pusher without it cannot confirm.
   */
  pushAndConfirm?(message: T, info?: PushInfo): Promise<void>;
  /**
   * Writes `messages` in one request, in their order, and resolves once the destination confirmed all
   * of them; rejects when it did not (then any part of them may have been written: the caller retries
   * the whole batch with the same ids). Unlike `pushAndConfirm`, a batch is never split across writes,
   * so no later message can be written while an earlier one of the same batch failed: what
   * `@q/outbox`'s forwarder needs to keep order and let sinks de-duplicate by a high-water mark.
   * `info.signal` ends the wait (the outcome is then unknown). Optional.
   */
  pushBatch?(messages: readonly T[], info?: PushInfo): Promise<void>;
}

/** A {@link Pusher} that can confirm each message. */
export type ConfirmingPusher<T = string> = Pusher<T> & {
  /** See {@link Pusher.pushAndConfirm}: required here. */
  pushAndConfirm(message: T, info?: PushInfo): Promise<void>;
};

/** Whether `pusher` offers {@link Pusher.pushAndConfirm}. */
export function isConfirmingPusher<T>(pusher: Pusher<T>): pusher is ConfirmingPusher<T> {
  return typeof pusher.pushAndConfirm === 'function';
}

/**
 * Pushes `message` and waits for as much as `pusher` can promise: its confirmation when it offers
 * {@link Pusher.pushAndConfirm}, else its acceptance (`push`). What a caller that must not lose a message
 * (a dead letter) awaits before it lets the message go from its source.
 */
export async function pushConfirmed<T>(pusher: Pusher<T>, message: T, info?: PushInfo): Promise<void> {
  if (pusher.pushAndConfirm !== undefined) return pusher.pushAndConfirm(message, info);
  await pusher.push(message, info);
}
