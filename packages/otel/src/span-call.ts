import { type Context, context, INVALID_TRACEID, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import { ATTR, errorType } from './attributes.js';

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  value !== null &&
  (typeof value === 'object' || typeof value === 'function') &&
  typeof (value as PromiseLike<unknown>).then === 'function';

/**
 * Whether `span` is the API's no-op span without a trace (no SDK registered, no parent context): then
 * there is nothing to record or propagate, and the call runs unwrapped. (`isSpanContextValid` would
 * say the same, but its regular expressions cost more than the rest of the no-op path together.)
 */
export function isNoop(span: Span): boolean {
  return span.spanContext().traceId === INVALID_TRACEID;
}

/** Marks `span` as failed by `error`: the exception event, `error.type` and an error status. */
export function recordFailure(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setAttribute(ATTR.errorType, errorType(error));
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}

/**
 * Calls `call` with `span` active (as a child of `parent`'s values) and ends the span when the call is
 * over: at once for a synchronous return or throw, when its promise settles otherwise. The call's
 * outcome is passed on untouched (the same value, the same error; a synchronous result stays
 * synchronous).
 *
 * With `signal`, an abort ends the span first, failed with the abort's reason: the queue gave up on
 * the attempt then (its `timeoutMs`, or the stop deadline), even if the handler's promise runs on.
 */
export function callInSpan<R>(span: Span, parent: Context, call: () => R, signal?: AbortSignal): R {
  let result: R;
  try {
    result = context.with(trace.setSpan(parent, span), call);
  } catch (error) {
    recordFailure(span, error);
    span.end();
    throw error;
  }
  if (!isThenable(result)) {
    span.end();
    return result;
  }
  let open = true;
  const onAbort = (): void => {
    if (!open) return;
    open = false;
    recordFailure(span, signal?.reason);
    span.end();
  };
  if (signal !== undefined) {
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  }
  const close = (error?: unknown, failed = false): void => {
    signal?.removeEventListener('abort', onAbort);
    if (!open) return;
    open = false;
    if (failed) recordFailure(span, error);
    span.end();
  };
  // A PromiseLike's then() may return nothing (only native promises must chain): adopt it first.
  const settled = result instanceof Promise ? result : Promise.resolve(result);
  return settled.then(
    (value) => {
      close();
      return value;
    },
    (error: unknown) => {
      close(error, true);
      throw error;
    },
  ) as R;
}
