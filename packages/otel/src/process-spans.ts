import {
  type Attributes,
  type Context,
  context,
  isSpanContextValid,
  type Link,
  ROOT_CONTEXT,
  type SpanContext,
  SpanKind,
  trace,
} from '@opentelemetry/api';
import type { ConsumeContext } from '@q/core';
import { ATTR } from './attributes.js';
import type { ResolvedConsumerTracing } from './consumer-options.js';
import { headerGetter } from './headers.js';
import { callInSpan, isNoop } from './span-call.js';

/**
 * Makes the CONSUMER span of each handler call: `process <destination>`, with the messaging
 * attributes, linked to the producer's span found in the message's headers.
 */
export class ProcessSpans<T> {
  readonly #o: ResolvedConsumerTracing<T>;

  constructor(options: ResolvedConsumerTracing<T>) {
    this.#o = options;
  }

  /** Runs `call` (the handler's call for one message) in its span. */
  one<R>(message: T, consumeContext: ConsumeContext, call: () => R): R {
    const o = this.#o;
    const active = context.active();
    const headers = o.headersOf?.(message);
    const extracted = headers === undefined ? active : o.propagator.extract(active, headers, headerGetter);
    const producer = producerOf(extracted, active);
    const destination = typeof o.destination === 'function' ? o.destination(message) : o.destination;
    const attributes = baseAttributes(o.system, destination, consumeContext.attempt);
    const extra = o.attributes?.(message);
    if (extra !== undefined) Object.assign(attributes, extra);
    // A single message's span joins its producer's trace: semconv makes the link a requirement and
    // the parent optional for one message, and one trace from send to process is what people look for.
    const parent = producer !== undefined && o.childOfProducer ? extracted : active;
    const span = o.tracer.startSpan(
      spanName(destination),
      { kind: SpanKind.CONSUMER, attributes, links: producer === undefined ? undefined : [{ context: producer }] },
      parent,
    );
    // Nothing is traced (no SDK, no producer context): the handler runs as if unwrapped.
    if (isNoop(span)) return call();
    return callInSpan(span, parent, call, consumeContext.signal);
  }

  /**
   * Runs `call` (the handler's call for a batch) in one span, linked to each message's producer:
   * a batch has many producers, so none of them is its parent (semconv's rule for batches).
   */
  batch<R>(messages: readonly T[], consumeContext: ConsumeContext, call: () => R): R {
    const o = this.#o;
    const active = context.active();
    const destination = batchDestination(o.destination, messages);
    const attributes = baseAttributes(o.system, destination, consumeContext.attempt);
    attributes[ATTR.batchCount] = messages.length;
    const span = o.tracer.startSpan(
      spanName(destination),
      { kind: SpanKind.CONSUMER, attributes, links: this.#links(messages) },
      active,
    );
    if (isNoop(span)) return call();
    return callInSpan(span, active, call, consumeContext.signal);
  }

  #links(messages: readonly T[]): Link[] | undefined {
    const o = this.#o;
    if (o.headersOf === undefined || o.maxLinks === 0) return undefined;
    let links: Link[] | undefined;
    const seen = new Set<string>();
    for (const message of messages) {
      const headers = o.headersOf(message);
      if (headers === undefined) continue;
      const producer = trace.getSpanContext(o.propagator.extract(ROOT_CONTEXT, headers, headerGetter));
      if (producer === undefined || seen.has(producer.spanId)) continue;
      seen.add(producer.spanId);
      links ??= [];
      links.push({ context: producer, attributes: o.attributes?.(message) });
      if (links.length >= o.maxLinks) break;
    }
    return links;
  }
}

/** The producer's span context that extraction added, if any (not the ambient span it kept). */
function producerOf(extracted: Context, active: Context): SpanContext | undefined {
  if (extracted === active) return undefined;
  const found = trace.getSpanContext(extracted);
  return found !== undefined && found !== trace.getSpanContext(active) && isSpanContextValid(found) ? found : undefined;
}

function baseAttributes(system: string, destination: string | undefined, attempt: number): Attributes {
  const attributes: Attributes = {
    [ATTR.system]: system,
    [ATTR.operationType]: 'process',
    [ATTR.operationName]: 'process',
    [ATTR.attempt]: attempt,
  };
  if (destination !== undefined) attributes[ATTR.destinationName] = destination;
  return attributes;
}

function batchDestination<T>(
  destination: string | ((message: T) => string | undefined) | undefined,
  messages: readonly T[],
): string | undefined {
  if (typeof destination !== 'function') return destination;
  let common: string | undefined;
  for (let i = 0; i < messages.length; i++) {
    const d = destination(messages[i] as T);
    if (d === undefined || (i > 0 && d !== common)) return undefined;
    common = d;
  }
  return common;
}

const spanName = (destination: string | undefined): string =>
  destination === undefined ? 'process' : `process ${destination}`;
