import type { OutboxSink } from './options.js';
import type { OutboxSinkMessage } from './sink-message.js';

/** A push that was not confirmed: why, and which messages (all of them when `failed` is undefined). */
export interface PushFailure {
  /** The first error, in message order. */
  readonly error: unknown;
  /**
   * Indexes of the messages not confirmed, when the sink confirms each one (the per-message fallback);
   * undefined when the batch went as one write (`pushBatch`): any part of it may have been written.
   */
  readonly failed: readonly { readonly index: number; readonly error: unknown }[] | undefined;
}

/** A push under way: its outcome for the caller, and when the sink itself is done with it. */
interface Push {
  /** Undefined when every message was confirmed. Settles early when `signal` aborts. */
  readonly outcome: Promise<PushFailure | undefined>;
  /** Settles when the sink's own promises did (never rejects): nothing of this push is in flight any more. */
  readonly settled: Promise<void>;
}

const noop = (): void => undefined;

/** Rejects with the signal's reason when it aborts first (the sink may not honour `info.signal`). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Pushes `messages` to the sink: in one `pushBatch` when it has one (in order, one confirmed write, never
 * split), else `pushAndConfirm` for each and a `flush()` so a batching pusher writes them at once.
 */
function pushOnce(sink: OutboxSink, messages: readonly OutboxSinkMessage[], signal: AbortSignal | undefined): Push {
  if (signal?.aborted)
    return { outcome: Promise.resolve({ error: signal.reason, failed: undefined }), settled: Promise.resolve() };
  const info = signal === undefined ? undefined : { signal };
  if (typeof sink.pushBatch === 'function') {
    let write: Promise<void>;
    try {
      write = Promise.resolve(sink.pushBatch(messages, info));
    } catch (error) {
      write = Promise.reject(error);
    }
    const outcome = untilAborted(write, signal).then(
      () => undefined,
      (error: unknown): PushFailure => ({ error, failed: undefined }),
    );
    return { outcome, settled: write.then(noop, noop) };
  }
  const confirm = (sink.pushAndConfirm as NonNullable<OutboxSink['pushAndConfirm']>).bind(sink);
  const writes = messages.map((m) => {
    try {
      return confirm(m, info);
    } catch (error) {
      return Promise.reject(error);
    }
  });
  const flush = (sink as { flush?: () => unknown }).flush;
  if (typeof flush === 'function') {
    try {
      Promise.resolve(flush.call(sink)).catch(noop);
    } catch {
      // The confirms carry the outcome.
    }
  }
  const all = Promise.allSettled(writes);
  const outcome = untilAborted(all, signal).then(
    (results): PushFailure | undefined => {
      const failed: { index: number; error: unknown }[] = [];
      results.forEach((r, index) => {
        if (r.status === 'rejected') failed.push({ index, error: r.reason });
      });
      return failed.length === 0 ? undefined : { error: failed[0]?.error, failed };
    },
    (error: unknown): PushFailure => ({ error, failed: messages.map((_, index) => ({ index, error })) }),
  );
  return { outcome, settled: all.then(noop) };
}

/**
 * The one way to the sink: at most one batch in flight at a time, from the forwarder or the direct path,
 * so a retried batch can never let a later one overtake it. A push the caller stopped waiting for (a
 * direct batch that timed out, a close) still holds the lane until the sink is done with it.
 */
export class SinkLane {
  readonly #sink: OutboxSink;
  #tail: Promise<void> = Promise.resolve();
  #waiting = 0;

  constructor(sink: OutboxSink) {
    this.#sink = sink;
  }

  /** Whether a push is under way or waiting for the lane. */
  get busy(): boolean {
    return this.#waiting > 0;
  }

  /** Pushes once the push before has settled; resolves with the failure, or undefined when confirmed. */
  push(messages: readonly OutboxSinkMessage[], signal?: AbortSignal): Promise<PushFailure | undefined> {
    this.#waiting++;
    const push = this.#tail.then(() => pushOnce(this.#sink, messages, signal));
    const settled = push.then((p) => p.settled);
    this.#tail = settled;
    void settled.then(() => {
      this.#waiting--;
    });
    return untilAborted(
      push.then((p) => p.outcome),
      signal,
    ).catch((error: unknown): PushFailure => ({ error, failed: undefined }));
  }
}
