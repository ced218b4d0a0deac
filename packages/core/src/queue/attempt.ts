import { backoffDelay, type RetryPolicy, sleep } from '../support/backoff.js';
import { HandlerTimeoutError } from '../support/errors.js';
import type { LatencyHistogram } from '../support/latency-histogram.js';
import type { Consumer } from './consumer.js';
import type { DeadLetter } from './dead-letter.js';
import { isThenable, NO_ERROR, withTimeout } from './handler-call.js';
import type { Reporter } from './reporter.js';
import type { Settlement } from './settlement.js';
import type { ConsumerSlot, ProducerSlot } from './slots.js';

/** What {@link Attempts} needs from its queue. */
export interface AttemptsOptions<T> {
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  /** With `keyOf`, a timed-out call keeps its key until it has really ended. */
  readonly keyed: boolean;
  readonly deadLetter: DeadLetter<T> | undefined;
  readonly settlement: Settlement<T>;
  readonly report: Reporter<T>;
  readonly latency: LatencyHistogram;
  /** Whether the stop deadline passed: no more retries then. */
  readonly hardStopped: () => boolean;
}

/**
 * One handler call (its context, signal and timeout), and what follows a failed one: retries with
 * back-off, then the dead letter or a `failed` settlement.
 */
export class Attempts<T> {
  readonly #o: AttemptsOptions<T>;

  constructor(options: AttemptsOptions<T>) {
    this.#o = options;
  }

  /**
   * Calls the handler; returns its promise (with the timeout applied) or `undefined` if it returned
   * synchronously (or threw: the throw goes to the caller).
   */
  call(
    slot: ConsumerSlot<T>,
    payload: T | readonly T[],
    isBatch: boolean,
    attempt: number,
  ): PromiseLike<unknown> | undefined {
    const { timeoutMs } = this.#o;
    let context = slot.firstContext;
    let controller: AbortController | undefined;
    if (timeoutMs > 0) {
      // One controller per attempt, aborted by its timer or, through the slot, at the stop deadline.
      // (`AbortSignal.any([attempt, stop])` per attempt: Node 20 never prunes the long-lived signal's
      // dependants, so the heap grew by one WeakRef per message.)
      controller = new AbortController();
      if (slot.stop.signal.aborted) controller.abort(slot.stop.signal.reason);
      slot.attempt = controller;
      context = { attempt, signal: controller.signal };
    } else if (attempt !== 1) {
      context = { attempt, signal: slot.stop.signal };
    }
    const consumer = slot.consumer as Consumer<T>;
    const result = isBatch
      ? (consumer.consumeBatch as NonNullable<Consumer<T>['consumeBatch']>)(payload as readonly T[], context)
      : consumer.consume(payload as T, context);
    if (!isThenable(result)) return undefined;
    if (controller === undefined) return result;
    const timed = withTimeout(result, timeoutMs, controller);
    return this.#o.keyed ? outlastTimeout(timed, result, slot.stop.signal) : timed;
  }

  /**
   * After a failed first attempt: retries until one succeeds or the policy is spent, then dead
   * letters or fails the messages. Settles everything `slot` holds unless the stop deadline took it.
   */
  async recover(
    slot: ConsumerSlot<T>,
    payload: T | readonly T[],
    isBatch: boolean,
    origin: ProducerSlot<T>,
    firstError: unknown,
  ): Promise<void> {
    const { retry: policy, settlement, report } = this.#o;
    const messages: readonly T[] = isBatch ? (payload as readonly T[]) : [payload as T];
    let error = firstError;
    let attempt = 1;
    for (;;) {
      report.error(error, 'consume', messages, attempt);
      if (attempt >= policy.attempts || this.#o.hardStopped()) break;
      settlement.retries++;
      await sleep(backoffDelay(policy, attempt), slot.stop.signal);
      if (slot.abandoned) return;
      attempt++;
      const started = performance.now();
      error = NO_ERROR;
      try {
        const pending = this.call(slot, payload, isBatch, attempt);
        if (pending !== undefined) await pending;
      } catch (e) {
        error = e;
      }
      if (slot.abandoned) return;
      this.#o.latency.record(performance.now() - started);
      if (error === NO_ERROR) {
        settlement.consumedMany(slot, origin, messages);
        return;
      }
    }
    const deadLetter = this.#o.deadLetter;
    if (deadLetter === undefined) {
      settlement.failed += messages.length;
      for (const m of messages) settlement.settle(origin, m, { type: 'failed', error, attempts: attempt });
      settlement.release(slot, messages.length);
      return;
    }
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i] as T;
      await deadLetter.push(slot, m, error, attempt);
      // The stop deadline nacked this message and the rest; a late push result is ignored.
      if (slot.abandoned) return;
      // From here on a stop deadline must not nack `m` again: only the rest stays in its hands.
      settlement.inFlight--;
      slot.current = i + 1 < messages.length ? messages.slice(i + 1) : undefined;
      slot.currentIsBatch = true;
      settlement.deadLettered++;
      settlement.settle(origin, m, { type: 'dead-lettered', error, attempts: attempt });
      report.emit('dead-letter', m, error, attempt);
    }
    settlement.release(slot, 0);
  }
}

/**
 * Rejects like `timed`, but after a timeout only once the handler's own promise has settled (or the
 * stop deadline passed): a handler that ignores its signal keeps running, and while it runs its key
 * must stay held, or the retry and the key's next message would overlap it.
 */
async function outlastTimeout(
  timed: Promise<unknown>,
  result: PromiseLike<unknown>,
  stop: AbortSignal,
): Promise<unknown> {
  try {
    return await timed;
  } catch (error) {
    if (error instanceof HandlerTimeoutError && !stop.aborted) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          stop.removeEventListener('abort', done);
          resolve();
        };
        stop.addEventListener('abort', done);
        result.then(done, done);
      });
    }
    throw error;
  }
}
