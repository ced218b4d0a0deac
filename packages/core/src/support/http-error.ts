/**
 * A `q-*` server's answer to a request it refuses (q-outbox's proxy, q-http): an HTTP status and the JSON body
 * `{ "error": { "code", "message", ...details } }`. Codes are stable (clients branch on them),
 * messages are for people.
 */
export class HttpError extends Error {
  /** The HTTP status to answer with. */
  readonly status: number;
  /** The stable, lower-case error code of the JSON body (`empty_body`, `missing_field`, ...). */
  readonly code: string;
  /** More fields of the body's `error` object (a batch line's number, the field at fault, a limit). */
  readonly details: Readonly<Record<string, unknown>>;
  /** Seconds for a `Retry-After` header, when the client should come back later. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    status: number,
    code: string,
    message: string,
    options: { details?: Record<string, unknown>; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.details = options.details ?? {};
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** The JSON body of the answer. */
  body(): { error: Record<string, unknown> } {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}
