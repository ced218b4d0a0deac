import type { EventEmitter } from 'node:events';
import type { Logger } from '@q/core';

/** Where an error reported on the `error` event happened. */
export type OutboxErrorStage =
  /** Reading the log or committing the forward cursor failed (retried with back-off). */
  | 'forward'
  /** Appending to the dead-letter log failed (retried with back-off; the cursor waits). */
  | 'dead-letter'
  /** Spilling direct-first messages to the log failed (those sends reject). */
  | 'spill'
  /** An event listener threw (the outbox goes on). */
  | 'listener'
  /** The `isPermanent` option threw: the push failure counts as the sink being down (retried). */
  | 'is-permanent';

/** Why direct-first messages went to the log (`'idempotency-key'`: a send with one, which must be durable with its key). */
export type SpillReason = 'error' | 'timeout' | 'backlog' | 'close' | 'idempotency-key';

/** Events of an {@link Outbox}, each with one object argument. */
export interface OutboxEvents {
  /** The sink failed a push after it had been up (once per change, not per retry). */
  'sink-down': [{ readonly error: unknown }];
  /** The sink confirmed a push after it had been down, `downMs` later. */
  'sink-up': [{ readonly downMs: number }];
  /** The sink refused a message for good: it is in the dead-letter log now. */
  'dead-letter': [{ readonly id: string; readonly cause: unknown }];
  /** Direct-first sent messages to the log instead of the sink (until the forwarder drained it). */
  spill: [{ readonly reason: SpillReason; readonly messages: number }];
  /** Something failed that the outbox works around; without a listener it goes to the logger. */
  error: [{ readonly err: unknown; readonly stage: OutboxErrorStage }];
}

/**
 * Emits an outbox's events so that user code can never break the outbox: each listener is called on its
 * own, one that throws is reported (`error`, stage `listener`) and the others still run.
 */
export class Reporter {
  readonly #emitter: EventEmitter<OutboxEvents>;
  readonly logger: Logger;

  constructor(emitter: EventEmitter<OutboxEvents>, logger: Logger) {
    this.#emitter = emitter;
    this.logger = logger;
  }

  /** Reports on `error`, or to the logger when nobody listens. */
  error(err: unknown, stage: OutboxErrorStage, message: string): void {
    if (this.#emitter.listenerCount('error') === 0) {
      this.logger.error({ err, stage }, message);
      return;
    }
    for (const listener of this.#emitter.rawListeners('error')) {
      try {
        (listener as (info: { err: unknown; stage: OutboxErrorStage }) => void).call(this.#emitter, { err, stage });
      } catch (listenerError) {
        this.logger.error({ err: listenerError }, 'outbox: an error listener threw');
      }
    }
  }

  /** Emits `event` to each listener (a `once` listener is removed as it is called). */
  emit<E extends Exclude<keyof OutboxEvents, 'error'>>(event: E, payload: OutboxEvents[E][0]): void {
    // rawListeners is a copy; `once` wrappers remove themselves when called.
    for (const listener of this.#emitter.rawListeners(event)) {
      try {
        (listener as (p: OutboxEvents[E][0]) => void).call(this.#emitter, payload);
      } catch (err) {
        this.error(err, 'listener', `outbox: a '${event}' listener threw`);
      }
    }
  }
}
