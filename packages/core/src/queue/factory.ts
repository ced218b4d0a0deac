import { backoffDelay, type RetryPolicy, sleep } from '../support/backoff.js';
import { InvalidOptionError } from '../support/errors.js';
import type { QueueErrorStage } from './events.js';

/** How {@link make} calls a producer or consumer factory. */
export interface MakeOptions {
  readonly stage: 'producer-factory' | 'consumer-factory';
  /** Whether the result is no longer needed (the queue is stopping). */
  readonly giveUp: () => boolean;
  /** Ends the back-off sleep between failures early. */
  readonly wakeSignal: () => AbortSignal;
  /** Whether `made` is already used by another loop (a factory returning one shared instance). */
  readonly inUse: (made: object) => boolean;
  /** Closes what the queue made, each object once. */
  readonly closer: Closer;
  readonly backoff: RetryPolicy;
}

/**
 * Calls a factory until it succeeds or `giveUp()` says the result is no longer needed; between
 * failures it sleeps with back-off. A result that comes after the queue gave up is closed here,
 * unless another loop already uses that same object: the queue closes each distinct object once,
 * when its loops are over.
 */
export async function make<X>(
  factory: () => X | Promise<X>,
  o: MakeOptions,
  report: { error(error: unknown, stage: QueueErrorStage): void },
): Promise<X | undefined> {
  for (let attempt = 1; !o.giveUp(); attempt++) {
    let made: X;
    try {
      made = await factory();
      if (made === null || typeof made !== 'object') {
        throw new InvalidOptionError(
          o.stage === 'producer-factory' ? 'producerFactory' : 'consumerFactory',
          made,
          'a function returning an object',
        );
      }
    } catch (error) {
      report.error(error, o.stage);
      await sleep(backoffDelay(o.backoff, attempt), o.wakeSignal());
      continue;
    }
    if (!o.giveUp()) return made;
    if (!o.inUse(made as object)) await o.closer.close(made as object);
    return undefined;
  }
  return undefined;
}

/**
 * Closes the producers and consumers the queue made, each distinct object once: a factory may hand
 * one shared instance to every loop (or return it late to several loops that gave up on it).
 */
export class Closer {
  readonly #closed = new WeakSet<object>();
  readonly #report: { error(error: unknown, stage: QueueErrorStage): void };

  constructor(report: { error(error: unknown, stage: QueueErrorStage): void }) {
    this.#report = report;
  }

  /** Calls `target.close()` unless it was closed already (or has none); a failure is reported. */
  async close(target: object): Promise<void> {
    const close = (target as { close?: () => unknown }).close;
    if (typeof close !== 'function' || this.#closed.has(target)) return;
    this.#closed.add(target);
    try {
      await close.call(target);
    } catch (error) {
      this.#report.error(error, 'close');
    }
  }
}
