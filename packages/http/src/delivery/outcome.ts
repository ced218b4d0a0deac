/**
 * What a response status means for the item (Standard Webhooks): only 2xx delivers; 3xx is a failure
 * (redirects are not followed, the endpoint should be fixed); 408, 429 and 5xx say "later"; 410 says "never
 * again, to this endpoint"; any other 4xx refuses this item for good. A status outside 1xx-5xx is treated
 * as a transient failure, as a broken proxy's would be.
 */
export type StatusOutcome = 'delivered' | 'retry' | 'gone' | 'rejected';

/** The outcome of a response with this status. */
export function classifyStatus(status: number): StatusOutcome {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 410) return 'gone';
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) return 'rejected';
  return 'retry';
}

/**
 * A short, stable text for a failed attempt that got no response (`ECONNREFUSED: connect ECONNREFUSED
 * 127.0.0.1:9`, `UND_ERR_HEADERS_TIMEOUT: Headers Timeout Error`): the code first, so that dead letters
 * group by it. Every such failure is retried.
 */
export function transportCause(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const cause = (err as { cause?: unknown }).cause;
    // undici wraps socket errors ("fetch failed"-style) with the real one as the cause.
    if (typeof code !== 'string' && cause instanceof Error) return transportCause(cause);
    return typeof code === 'string' ? `${code}: ${err.message}` : err.message || err.name;
  }
  return String(err);
}
