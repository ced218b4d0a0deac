const DELAY_SECONDS = /^\s*(\d+)\s*$/;

/**
 * The wait a `Retry-After` header asks for, in milliseconds (RFC 9110 §10.2.3): delay-seconds
 * (`120`) or an HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`, and the obsolete RFC 850 and asctime forms
 * `Date.parse` reads), a date in the past being 0. `undefined` when absent or unreadable (the back-off
 * schedule then applies alone). With several values the first is taken.
 */
export function parseRetryAfter(value: string | readonly string[] | undefined, now: number): number | undefined {
  const text = typeof value === 'string' ? value : value?.[0];
  if (text === undefined || text.length === 0) return undefined;
  const seconds = DELAY_SECONDS.exec(text);
  if (seconds !== null) {
    const n = Number(seconds[1]);
    return Number.isSafeInteger(n) ? n * 1000 : Number.MAX_SAFE_INTEGER;
  }
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
