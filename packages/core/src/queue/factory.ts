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
    if (!o.inUse(made)) {
      try {
        await (made as { close?(): unknown }).close?.();
      } catch (error) {
        report.error(error, 'close');
      }
    }
    return undefined;
  }
  return undefined;
}
