/**
 * The server's answer to a request it refuses: an HTTP status and the JSON body
 * `{ "error": { "code", "message", ...details } }`. Codes are stable (clients branch on them),
 * messages are for people.
 *
 * Same shape as `@q/outbox`'s proxy errors, so clients of both servers read one format.
 */
export class HttpError extends Error {
  /** The HTTP status to answer with. */
  readonly status: number;
  /** The stable, lower-case error code of the JSON body (`missing_field`, `unknown_topic`, ...). */
  readonly code: string;
  /** More fields of the body's `error` object (the field at fault, a limit). */
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

/** 400 `invalid_field` (or `missing_field` when absent) naming the request field at fault. */
export function fieldError(field: string, problem: string, missing = false): HttpError {
  return new HttpError(400, missing ? 'missing_field' : 'invalid_field', `${field} ${problem}`, {
    details: { field },
  });
}
