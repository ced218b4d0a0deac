import { backoffDelay, type RetryPolicy } from '@q/core';
import { whenAborted } from '@q/core/internal';
import { LogFullError } from '@q/log';
import { OutboxClosedError, OutboxFullError } from './errors.js';

/** Back-off between tries of an append the log refused for lack of room: short, the forwarder frees room fast. */
const ROOM_RETRY: RetryPolicy = {
  attempts: Number.POSITIVE_INFINITY,
  minDelayMs: 5,
  maxDelayMs: 500,
  factor: 2,
  jitter: true,
};
/** A record's frame and a segment's header, as `@q/log` writes them (30 + 16 bytes), rounded up. */
const OVERHEAD_BYTES = 64;

/** What {@link waitForRoom} needs to know about the outbox. */
export interface RoomWait {
  readonly dir: string;
  readonly whenFull: 'block' | 'reject';
  readonly maxBytes: number;
  /** Aborted when the outbox closes: a blocked send then rejects with `OutboxClosedError`. */
  readonly closing: AbortSignal;
}

/** Resolves after `ms`, or as soon as one of the signals aborts; one shared listener per signal. */
function pause(ms: number, a: AbortSignal, b: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const cancels: Array<() => void> = [];
    const done = (): void => {
      clearTimeout(timer);
      for (const cancel of cancels) cancel();
      resolve();
    };
    const timer = setTimeout(done, ms);
    cancels.push(whenAborted(a, done));
    if (b !== undefined) cancels.push(whenAborted(b, done));
  });
}

/**
 * Called after an append failed: rethrows anything but `LogFullError`; with `whenFull: 'reject'` (or a
 * record of `bytes` that can never fit `maxBytes`) throws `OutboxFullError`, cause attached; with
 * `'block'` waits a little (longer as `attempt` grows, with full jitter) and returns, so the caller tries
 * again, unless the outbox closes (`OutboxClosedError`) or `signal` aborts (its reason) first. `maxBytes`
 * and a full disk (`ENOSPC`) are handled alike.
 */
export async function waitForRoom(
  error: unknown,
  attempt: number,
  wait: RoomWait,
  signal: AbortSignal | undefined,
  bytes = 0,
): Promise<void> {
  if (!(error instanceof LogFullError)) throw error;
  if (wait.whenFull === 'reject' || bytes + OVERHEAD_BYTES > wait.maxBytes)
    throw new OutboxFullError(`Outbox ${wait.dir} is full: ${error.message}`, { cause: error });
  if (signal?.aborted) throw signal.reason;
  if (wait.closing.aborted) throw new OutboxClosedError(wait.dir);
  await pause(backoffDelay(ROOM_RETRY, attempt + 1), wait.closing, signal);
  if (signal?.aborted) throw signal.reason;
  if (wait.closing.aborted) throw new OutboxClosedError(wait.dir);
}
