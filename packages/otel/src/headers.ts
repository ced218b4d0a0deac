import {
  type Context,
  context,
  propagation,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from '@opentelemetry/api';

/**
 * Message headers that carry trace context: Kafka record headers (strings or Buffers, kafkajs may
 * give an array for a repeated name) or a Redis envelope's headers (strings).
 */
export type HeaderCarrier = Readonly<Record<string, string | Buffer | readonly (string | Buffer)[] | undefined>>;

/** Reads W3C (or any text map) headers out of a {@link HeaderCarrier}, decoding Buffers as UTF-8. */
export const headerGetter: TextMapGetter<HeaderCarrier> = {
  keys: (carrier) => Object.keys(carrier),
  get(carrier, key) {
    const value = carrier[key];
    if (value === undefined || typeof value === 'string') return value;
    if (Buffer.isBuffer(value)) return value.toString('utf8');
    if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? v : v.toString('utf8')));
    return undefined;
  },
};

interface Holder {
  headers?: Record<string, string>;
}

// The headers object is made on the first header set, so a context with nothing to propagate (no
// span, or no propagator registered) costs no allocation per message beyond the holder.
const holderSetter: TextMapSetter<Holder> = {
  set(carrier, key, value) {
    if (carrier.headers === undefined) carrier.headers = {};
    carrier.headers[key] = value;
  },
};

/** The headers `propagator` writes for `ctx` (`traceparent`, `tracestate`, ...), or `undefined` for none. */
export function injectHeaders(ctx: Context, propagator: TextMapPropagator): Record<string, string> | undefined {
  const holder: Holder = {};
  propagator.inject(ctx, holder, holderSetter);
  return holder.headers;
}

/**
 * A `traceHeaders` hook for `KafkaPusher` (or any pusher that asks for headers per message): returns
 * the headers that carry the caller's active context, W3C `traceparent` and `tracestate` with the
 * usual SDK setup, or `undefined` when there is nothing to carry.
 *
 * ```ts
 * new KafkaPusher({ brokers, topic: 'orders', traceHeaders: traceHeaders() });
 * ```
 *
 * @param propagator @default the global propagator (`propagation` of `@opentelemetry/api`), which an
 *   SDK sets up (W3C trace context and baggage by default)
 */
export function traceHeaders(propagator?: TextMapPropagator): () => Record<string, string> | undefined {
  return () => injectHeaders(context.active(), propagator ?? propagation);
}
