import type { Attributes, TextMapPropagator, Tracer } from '@opentelemetry/api';
import { ATTR } from './attributes.js';
import type { ConsumerTracingOptions } from './consumer-options.js';
import type { ProducerTracingOptions } from './traced-pusher.js';

/** A Redis queue's message: at-least-once `RedisMessage` of `@q/redis`, or a bare body (at-most-once). */
export type RedisMessageLike =
  | string
  | Buffer
  | {
      /** The list item's body, envelope included. */
      readonly body: string | Buffer;
      /** The delivery id (at-least-once mode). */
      readonly id?: number;
      /** How often Redis delivered it (at-least-once mode). */
      readonly deliveries?: number;
    };

/** `unwrapEnvelope` of `@q/redis`, or anything that finds headers in a body the same way. */
export type Unwrap = (body: string | Buffer) => {
  /** The headers found in the envelope; empty for a bare body. */
  readonly headers: Readonly<Record<string, string>>;
};

/** `wrapEnvelope` of `@q/redis`, or anything that puts headers into a body the same way. */
export type Wrap = (body: string | Buffer, headers: Readonly<Record<string, string>>) => string | Buffer;

/** Options of {@link redisConsumerTracing}. */
export type RedisConsumerTracingOptions = Pick<
  ConsumerTracingOptions<RedisMessageLike>,
  'childOfProducer' | 'maxLinks' | 'tracer' | 'propagator'
>;

/**
 * {@link ConsumerTracingOptions} for a Redis list `key`: `messaging.system` `redis`, the trace context
 * read from each body's envelope through `unwrap` (pass `unwrapEnvelope` of `@q/redis`; `@q/otel` does
 * not depend on `@q/redis`), `messaging.message.id` (the delivery id), `q.redis.deliveries` and
 * `messaging.message.body.size` (of the whole item, envelope included).
 */
export function redisConsumerTracing(
  key: string,
  unwrap: Unwrap,
  options: RedisConsumerTracingOptions = {},
): ConsumerTracingOptions<RedisMessageLike> {
  return {
    ...options,
    system: 'redis',
    destination: key,
    headersOf: (m) => unwrap(bodyOf(m)).headers,
    attributes: (m) => {
      const body = bodyOf(m);
      const attributes: Attributes = {
        [ATTR.bodySize]: typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength,
      };
      if (typeof m === 'object' && !Buffer.isBuffer(m)) {
        if (m.id !== undefined) attributes[ATTR.messageId] = String(m.id);
        if (m.deliveries !== undefined) attributes[ATTR.redisDeliveries] = m.deliveries;
      }
      return attributes;
    },
  };
}

/**
 * {@link ProducerTracingOptions} for a `RedisListPusher` of `key`: each body is enveloped through
 * `wrap` (pass `wrapEnvelope` of `@q/redis`) with the send span's trace headers.
 */
export function redisProducerTracing(
  key: string,
  wrap: Wrap,
  options: { tracer?: Tracer; propagator?: TextMapPropagator } = {},
): ProducerTracingOptions<
  | string
  | Buffer
  | {
      /** The body to push. */
      readonly body: string | Buffer;
    }
> {
  return {
    ...options,
    system: 'redis',
    destination: key,
    // A message the pusher does not take is handed on as it is: the pusher rejects it as it would untraced.
    inject: (message, headers) => {
      const body = bodyOf(message);
      return typeof body === 'string' || Buffer.isBuffer(body) ? wrap(body, headers) : message;
    },
  };
}

function bodyOf(message: RedisMessageLike): string | Buffer {
  if (typeof message === 'string' || Buffer.isBuffer(message)) return message;
  // Typed as a message, but it may be anything at runtime.
  return (message as { body?: string | Buffer } | null)?.body as string | Buffer;
}
