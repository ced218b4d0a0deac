import { context, propagation, type SpanContext, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/**
 * The real OpenTelemetry SDK as an application sets it up (global tracer provider, async-hooks
 * context, W3C propagator), exporting to memory. Vitest runs each test file in its own process, so
 * the globals stay within the file.
 */
export function installTracing(): InMemorySpanExporter {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return exporter;
}

/** `span`'s identity, to compare links and parents with. */
export const idOf = (sc: SpanContext | undefined): string => (sc === undefined ? 'none' : `${sc.traceId}/${sc.spanId}`);

/** The span a consumer span is linked to (its first link), by identity. */
export const linkedTo = (span: ReadableSpan): string => idOf(span.links[0]?.context);

/** The parent of `span`, by identity. */
export const parentOf = (span: ReadableSpan): string => idOf(span.parentSpanContext);
