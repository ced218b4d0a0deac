import { QueueError } from '../support/errors.js';

/**
 * The caller's `signal` aborted while it waited for a confirm (`addAndConfirm`, `pushAndConfirm`,
 * `flush`). Only the wait ended: a task or message already handed over may still be executed or
 * delivered, so its outcome is unknown (it is never reported as confirmed). With a signal that was
 * already aborted at the call, nothing was handed over. `cause` is the signal's reason.
 */
export class ConfirmAbortedError extends QueueError {
  override readonly code: string = 'Q_CONFIRM_ABORTED';

  constructor(reason: unknown) {
    super('the wait for a confirm was aborted; the message may still be delivered', { cause: reason });
  }
}
