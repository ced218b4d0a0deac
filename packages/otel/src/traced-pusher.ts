import { type Attributes, context, SpanKind, type TextMapPropagator, type Tracer, trace } from '@opentelemetry/api';
import { type ConfirmingPusher, InvalidOptionError, type Pusher, type PushInfo } from '@q/core';
import { nonEmptyString } from '@q/core/internal';
import { ATTR } from './attributes.js';
import { optionalFunction, resolvePropagator, resolveTracer } from './consumer-options.js';
import { injectHeaders } from './headers.js';
import { callInSpan, isNoop } from './span-call.js';

/** How {@link traceSend} and {@link tracedPusher} trace sends. */
export interface ProducerTracingOptions<M> {
  /** `messaging.system`: `kafka`, `redis`, ... */
  system: string;
  /** `messaging.destination.name` (the topic, the list); the span is named `send <destination>`. */
  destination: string;
  /**
   * Writes the trace headers (`traceparent`, `tracestate`) into the message, returning the message to
   * send: a Redis envelope, or headers of your own format. Leave it out when the pusher asks for the
   * headers itself (`KafkaPusher` with `traceHeaders: traceHeaders()`): the send runs with its span
   * active, so such a hook picks that span up.
   * @default none
   */
  inject?: (message: M, headers: Readonly<Record<string, string>>) => M;
  /** More attributes per message. @default none */
  attributes?: (message: M) => Attributes | undefined;
  /** @default `trace.getTracer('@q/otel')` of the global provider */
  tracer?: Tracer;
  /** @default the global propagator */
  propagator?: TextMapPropagator;
}

/** Runs one send in its PRODUCER span; see {@link traceSend}. */
export type TracedSend<M> = <R>(message: M, send: (message: M) => R) => R;

/**
 * Makes a function that runs a send in a PRODUCER span, `send <destination>`: the span is active
 * while `send` runs (so a pusher's own header hook sees it), `inject` (if given) puts its context
 * into the message, and the span ends when the send's promise settles (failed if it rejects). The
 * send's outcome is passed on untouched. For the methods {@link tracedPusher} does not cover:
 *
 * ```ts
 * const send = traceSend<string>({ system: 'kafka', destination: 'orders' });
 * await send(value, (v) => pusher.pushWithKey('customer-1', v));
 * ```
 *
 * @throws {InvalidOptionError} naming the first bad option.
 */
export function traceSend<M>(options: ProducerTracingOptions<M>): TracedSend<M> {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', options, 'an object');
  const system = nonEmptyString('system', options.system);
  const destination = nonEmptyString('destination', options.destination);
  optionalFunction('inject', options.inject);
  optionalFunction('attributes', options.attributes);
  const tracer = resolveTracer(options.tracer);
  const propagator = resolvePropagator(options.propagator);
  const { inject } = options;
  const name = `send ${destination}`;
  return <R>(message: M, send: (message: M) => R): R => {
    const active = context.active();
    const attributes: Attributes = {
      [ATTR.system]: system,
      [ATTR.operationType]: 'send',
      [ATTR.operationName]: 'send',
      [ATTR.destinationName]: destination,
    };
    const extra = options.attributes?.(message);
    if (extra !== undefined) Object.assign(attributes, extra);
    const span = tracer.startSpan(name, { kind: SpanKind.PRODUCER, attributes }, active);
    if (isNoop(span)) return send(message);
    // The injection runs inside the span's call, so a hook that throws still ends the span.
    return callInSpan(span, active, () => {
      if (inject === undefined) return send(message);
      const headers = injectHeaders(trace.setSpan(active, span), propagator);
      return send(headers === undefined ? message : inject(message, headers));
    });
  };
}

/**
 * A pusher whose `push` and `pushAndConfirm` each run in a PRODUCER span (see {@link traceSend}) and
 * then call `pusher`'s. It has only the {@link Pusher} methods: flush and close the pusher you wrapped.
 *
 * @throws {InvalidOptionError} for bad options, or when `pusher` has no `push`.
 */
export function tracedPusher<M>(
  pusher: ConfirmingPusher<M>,
  options: ProducerTracingOptions<NoInfer<M>>,
): ConfirmingPusher<M>;
export function tracedPusher<M>(pusher: Pusher<M>, options: ProducerTracingOptions<NoInfer<M>>): Pusher<M>;
export function tracedPusher<M>(pusher: Pusher<M>, options: ProducerTracingOptions<NoInfer<M>>): Pusher<M> {
  if (pusher === null || typeof pusher !== 'object' || typeof pusher.push !== 'function') {
    throw new InvalidOptionError('pusher', pusher, 'a Pusher (an object with push())');
  }
  const send = traceSend<M>(options);
  const traced: Pusher<M> = {
    name: () => pusher.name(),
    push: (message: M, info?: PushInfo) => send(message, (m) => pusher.push(m, info)),
  };
  const confirm = pusher.pushAndConfirm;
  if (typeof confirm === 'function') {
    traced.pushAndConfirm = (message: M, info?: PushInfo) => send(message, (m) => confirm.call(pusher, m, info));
  }
  return traced;
}
