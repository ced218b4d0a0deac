import type { Consumer, Outcome, Producer } from '@q/core';

export { delay, outcomeWithin, until } from '../../../test-support/wait.js';

/** The outcomes a producer was told, per message. */
export class SettleLog<T> {
  readonly outcomes = new Map<T, Outcome[]>();
  record(message: T, outcome: Outcome): void {
    const list = this.outcomes.get(message);
    if (list === undefined) this.outcomes.set(message, [outcome]);
    else list.push(outcome);
  }
  ofType(type: Outcome['type']): T[] {
    return [...this.outcomes].filter(([, o]) => o.some((x) => x.type === type)).map(([m]) => m);
  }
  /** Messages settled more than once. */
  duplicates(): T[] {
    return [...this.outcomes].filter(([, o]) => o.length > 1).map(([m]) => m);
  }
}

/**
 * A finite source of the numbers 0..n-1, shared by every producer loop, in batches of `batch` (1 =
 * single messages). Records every settlement.
 */
export function numberSource(
  n: number,
  options: { batch?: number; log?: SettleLog<number>; onProduce?: (count: number) => void } = {},
): { producer: Producer<number>; produced: () => number; log: SettleLog<number> } {
  const batch = options.batch ?? 1;
  const log = options.log ?? new SettleLog<number>();
  let next = 0;
  const producer: Producer<number> = {
    async produce(signal) {
      if (next >= n) {
        // A long poll of 5 ms that ends early on stop, and takes its listener with it either way.
        await new Promise<void>((resolve) => {
          const done = (): void => {
            clearTimeout(t);
            signal.removeEventListener('abort', done);
            resolve();
          };
          const t = setTimeout(done, 5);
          signal.addEventListener('abort', done);
        });
        return undefined;
      }
      if (batch === 1) {
        options.onProduce?.(1);
        return next++;
      }
      const out: number[] = [];
      while (out.length < batch && next < n) out.push(next++);
      options.onProduce?.(out.length);
      return out;
    },
    settle(message, outcome) {
      log.record(message, outcome);
    },
  };
  return { producer, produced: () => next, log };
}

/** A consumer that records what it consumed. */
export function recordingConsumer<T>(seen: T[], handle?: (m: T) => void | Promise<void>): Consumer<T> {
  return {
    async consume(m) {
      await handle?.(m);
      seen.push(m);
    },
  };
}
