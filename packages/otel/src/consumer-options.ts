import { type Attributes, propagation, type TextMapPropagator, type Tracer, trace } from '@opentelemetry/api';
import { InvalidOptionError } from '@q/core';
import { integerAtLeast, nonEmptyString } from '@q/core/internal';
import type { HeaderCarrier } from './headers.js';
import { TRACER_NAME, VERSION } from './version.js';

/** How {@link tracedConsumer} and {@link tracedHandler} trace handler calls. */
export interface ConsumerTracingOptions<T> {
  /** `messaging.system`: `kafka`, `redis`, ... */
  system: string;
  /**
   * `messaging.destination.name` (the topic, the list) and the span's name, `process <destination>`:
   * a fixed name, or read from each message. A batch gets it when all its messages agree.
   * @default none: the span is named `process`
   */
  destination?: string | ((message: T) => string | undefined);
  /**
   * Where the message carries its producer's trace context (Kafka headers, a Redis envelope's
   * headers). Without it, or when it returns `undefined`, spans have no producer to link to.
   * @default none
   */
  headersOf?: (message: T) => HeaderCarrier | undefined;
  /**
   * More attributes per message (`messaging.message.id`, `messaging.kafka.offset`, ...). On a batch
   * span they go on each message's link instead.
   * @default none
   */
  attributes?: (message: T) => Attributes | undefined;
  /**
   * A single message's span is a child of its producer's span (one trace from send to process), as
   * well as linked to it. With false it is a child of whatever context is active (and still linked).
   * Batch spans are never children of a producer: their messages come from many.
   * @default true
   */
  childOfProducer?: boolean;
  /**
   * Most links on a batch span (one per message with a distinct producer span); the rest are left out.
   * @default 128 (the SDK's default span link limit)
   */
  maxLinks?: number;
  /** @default `trace.getTracer('@q/otel')`: the global tracer provider's, a no-op until an SDK registers one */
  tracer?: Tracer;
  /** @default the global propagator (`propagation` of `@opentelemetry/api`; W3C trace context with the usual SDK setup) */
  propagator?: TextMapPropagator;
}

/** {@link ConsumerTracingOptions} checked, with the defaults applied. */
export interface ResolvedConsumerTracing<T> {
  readonly system: string;
  readonly destination: string | ((message: T) => string | undefined) | undefined;
  readonly headersOf: ((message: T) => HeaderCarrier | undefined) | undefined;
  readonly attributes: ((message: T) => Attributes | undefined) | undefined;
  readonly childOfProducer: boolean;
  readonly maxLinks: number;
  readonly tracer: Tracer;
  readonly propagator: TextMapPropagator;
}

/**
 * Checks `options` and applies the defaults.
 * @throws {InvalidOptionError} naming the first bad option.
 */
export function resolveConsumerTracing<T>(options: ConsumerTracingOptions<T>): ResolvedConsumerTracing<T> {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', options, 'an object');
  const system = nonEmptyString('system', options.system);
  const { destination } = options;
  if (destination !== undefined && typeof destination !== 'function') nonEmptyString('destination', destination);
  optionalFunction('headersOf', options.headersOf);
  optionalFunction('attributes', options.attributes);
  const childOfProducer = options.childOfProducer ?? true;
  if (typeof childOfProducer !== 'boolean')
    throw new InvalidOptionError('childOfProducer', childOfProducer, 'a boolean');
  return {
    system,
    destination,
    headersOf: options.headersOf,
    attributes: options.attributes,
    childOfProducer,
    maxLinks: integerAtLeast('maxLinks', options.maxLinks ?? 128, 0),
    tracer: resolveTracer(options.tracer),
    propagator: resolvePropagator(options.propagator),
  };
}

/** The given tracer, or `@q/otel`'s tracer of the global provider (which follows a later registration). */
export function resolveTracer(tracer: Tracer | undefined): Tracer {
  if (tracer === undefined) return trace.getTracer(TRACER_NAME, VERSION);
  if (tracer === null || typeof tracer.startSpan !== 'function') {
    throw new InvalidOptionError('tracer', tracer, 'an OpenTelemetry Tracer');
  }
  return tracer;
}

/** The given propagator, or the global one. */
export function resolvePropagator(propagator: TextMapPropagator | undefined): TextMapPropagator {
  if (propagator === undefined) return propagation;
  if (propagator === null || typeof propagator.extract !== 'function' || typeof propagator.inject !== 'function') {
    throw new InvalidOptionError('propagator', propagator, 'an OpenTelemetry TextMapPropagator');
  }
  return propagator;
}

/** @throws {InvalidOptionError} when `value` is neither undefined nor a function. */
export function optionalFunction(option: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') throw new InvalidOptionError(option, value, 'a function');
}
