import type { ConsumeContext, Consumer, ConsumerFactory } from '@q/core';
import { InvalidOptionError } from '@q/core';
import { type ConsumerTracingOptions, resolveConsumerTracing } from './consumer-options.js';
import { ProcessSpans } from './process-spans.js';

/** A handler function, as `KafkaQueue` takes it. */
export type Handler<T, R = void | Promise<void>> = (message: T, context: ConsumeContext) => R;

/**
 * Wraps a {@link Consumer} (or a {@link ConsumerFactory}: each consumer it makes is wrapped) so that
 * every call of `consume` and `consumeBatch` runs in a CONSUMER span, `process <destination>`. Each
 * retry is a new call, so a new span: `q.attempt` says which try it is. A failed call records its
 * exception and an error status; the handler's outcome (its value, its error, whether it was
 * synchronous) is passed on untouched. `onEvent` and `close` are passed through. Without an SDK, the
 * spans are no-ops and the handler runs as if unwrapped.
 *
 * A factory that returns one shared consumer gets one shared wrapper, so the queue still closes it once.
 *
 * @throws {InvalidOptionError} for bad options, or when `target` is neither an object with
 *   `consume` nor a function.
 */
export function tracedConsumer<T>(target: Consumer<T>, options: ConsumerTracingOptions<NoInfer<T>>): Consumer<T>;
export function tracedConsumer<T>(
  target: ConsumerFactory<T>,
  options: ConsumerTracingOptions<NoInfer<T>>,
): ConsumerFactory<T>;
export function tracedConsumer<T>(
  target: Consumer<T> | ConsumerFactory<T>,
  options: ConsumerTracingOptions<NoInfer<T>>,
): Consumer<T> | ConsumerFactory<T> {
  const spans = new ProcessSpans<T>(resolveConsumerTracing(options));
  if (typeof target === 'function') {
    const wrappers = new WeakMap<Consumer<T>, Consumer<T>>();
    return async () => {
      const consumer = await target();
      // Not an object: handed on as it is, so the queue reports it exactly as without tracing.
      if (consumer === null || typeof consumer !== 'object') return consumer;
      let wrapper = wrappers.get(consumer);
      if (wrapper === undefined) {
        wrapper = wrap(consumer, spans);
        wrappers.set(consumer, wrapper);
      }
      return wrapper;
    };
  }
  if (target === null || typeof target !== 'object' || typeof target.consume !== 'function') {
    throw new InvalidOptionError('consumer', target, 'a Consumer (an object with consume()) or a ConsumerFactory');
  }
  return wrap(target, spans);
}

/**
 * Wraps a handler function (`KafkaQueue`'s handler, or `consume` on its own) the way
 * {@link tracedConsumer} wraps a consumer: each call runs in its own CONSUMER span.
 *
 * @throws {InvalidOptionError} for bad options, or when `handler` is not a function.
 */
export function tracedHandler<T, R>(
  handler: Handler<T, R>,
  options: ConsumerTracingOptions<NoInfer<T>>,
): Handler<T, R> {
  if (typeof handler !== 'function') throw new InvalidOptionError('handler', handler, 'a function');
  const spans = new ProcessSpans<T>(resolveConsumerTracing(options));
  return (message, context) => spans.one(message, context, () => handler(message, context));
}

function wrap<T>(consumer: Consumer<T>, spans: ProcessSpans<T>): Consumer<T> {
  const wrapper: Consumer<T> = {
    consume: (message, context) => spans.one(message, context, () => consumer.consume(message, context)),
  };
  // Only when the consumer has them: the queue hands out batches when consumeBatch exists.
  if (typeof consumer.consumeBatch === 'function') {
    wrapper.consumeBatch = (messages, context) =>
      spans.batch(messages, context, () =>
        (consumer.consumeBatch as NonNullable<Consumer<T>['consumeBatch']>).call(consumer, messages, context),
      );
  }
  if (typeof consumer.onEvent === 'function') wrapper.onEvent = (event) => consumer.onEvent?.(event);
  if (typeof consumer.close === 'function') wrapper.close = () => consumer.close?.();
  return wrapper;
}
