import { NO_MORE, type Producer, type ProducerFactory } from './producer.js';

/**
 * A producer factory over a finite (or endless) source: each message the iterable yields is one
 * message of the queue (an array it yields is a batch); when it is done, every producer loop gets
 * {@link NO_MORE} and the queue drains and stops by itself, so `await queue.start()` is the whole
 * batch job. All producer loops share one iterator (`next()` calls are made one at a time), so
 * `producers` above 1 buys nothing here.
 *
 * ```ts
 * import { fromIterable, Queue } from '@q/core';
 * async function* rows() { for (let id = 0; id < 1000; id++) yield { id }; }
 * await new Queue(fromIterable(rows()), () => ({ consume: async (row) => { void row.id; } }), { producers: 1 }).start();
 * ```
 */
export function fromIterable<T>(source: Iterable<T> | AsyncIterable<T>): ProducerFactory<T> {
  const iterator =
    Symbol.asyncIterator in source
      ? (source as AsyncIterable<T>)[Symbol.asyncIterator]()
      : (source as Iterable<T>)[Symbol.iterator]();
  let done = false;
  /** The `next()` in flight: loops wait their turn, as an async generator would make them anyway. */
  let turn: Promise<unknown> = Promise.resolve();
  const producer: Producer<T> = {
    produce() {
      if (done) return NO_MORE;
      const next = turn.then(async () => {
        if (done) return NO_MORE;
        const r = await iterator.next();
        if (r.done === true) {
          done = true;
          return NO_MORE;
        }
        return r.value;
      });
      turn = next.catch(() => {});
      return next;
    },
    async close() {
      // Ends a source the queue stopped reading early (a generator's `finally` runs).
      if (!done) {
        done = true;
        await iterator.return?.();
      }
    },
  };
  return () => producer;
}
