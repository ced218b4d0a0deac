/** One thing to deliver: a body POSTed to a URL, signed, with a stable id. */
export interface DeliveryItem {
  /** Stable across retries, replays and restarts: sent as `webhook-id` and `Idempotency-Key`. No `.` (Standard Webhooks signs `id.timestamp.body`). */
  readonly id: string;
  /** Absolute `http:` or `https:` URL; the endpoint is this URL (its state, concurrency and circuit are per URL). */
  readonly url: string;
  /** The exact bytes sent and signed. */
  readonly body: Buffer;
  /** Ordering key: with a key, at most one attempt of that key is in flight, and a key's items finish in the order given. */
  readonly key?: string | undefined;
  /** Extra request headers (`content-type`, `traceparent`, user headers). `content-type` defaults to `application/json`. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** When the item was first accepted (ms since the epoch): `maxAgeMs` counts from it. Defaults to the first attempt. */
  readonly acceptedAt?: number | undefined;
  /** Where it came from (a log seq), carried into its dead letter. */
  readonly seq?: number | undefined;
  /**
   * Attempts already made (by an earlier hand-over, before it was parked): they count toward `maxAttempts`
   * and the retry delay. @default 0
   */
  readonly attempts?: number | undefined;
  /** No attempt before this instant (ms since the epoch): the retry time it was parked with. @default none */
  readonly notBefore?: number | undefined;
}

/** Why an item went to the dead letters. */
export type DeadLetterReason =
  /** A 4xx other than 408, 410 and 429: the endpoint refused the request for good. */
  | 'rejected'
  /** 410 Gone: the endpoint is disabled until re-enabled. */
  | 'gone'
  /** The endpoint was disabled (after a 410) when the item came to it. */
  | 'endpoint-disabled'
  /** `maxAttempts` attempts failed. */
  | 'attempts'
  /** `maxAgeMs` passed since it was accepted. */
  | 'max-age'
  /** The URL is not an absolute http(s) URL. */
  | 'invalid-url';

/** How an item finished. `deliver` resolves only once it finished (a dead letter is durably stored first). */
export type DeliveryResult =
  | {
      /** A 2xx answered. */
      readonly outcome: 'delivered';
      /** Attempts made, the successful one included. */
      readonly attempts: number;
      /** The 2xx status. */
      readonly status: number;
    }
  | {
      /** Appended to the dead letters (durably) instead. */
      readonly outcome: 'dead-lettered';
      /** Attempts made (0 when none was possible). */
      readonly attempts: number;
      /** Why. */
      readonly reason: DeadLetterReason;
      /** The last response's status, when there was one. */
      readonly status?: number | undefined;
      /** The last failure: `HTTP 503`, `timeout after 15000 ms`, `ECONNREFUSED`… */
      readonly cause: string;
    };

/** An endpoint's state, for stats and the server's topic view. */
export interface EndpointState {
  /** The endpoint: its URL. */
  readonly url: string;
  /** `closed` (healthy), `open` (circuit open: waiting before a probe), `half-open` (one probe in flight), `disabled` (410: until enabled). */
  readonly circuit: 'closed' | 'open' | 'half-open' | 'disabled';
  /** Attempts in flight to it. */
  readonly inFlight: number;
  /** Items waiting: ready, or waiting for their retry time. */
  readonly waiting: number;
  /** Failed attempts in a row (what opens the circuit). */
  readonly consecutiveFailures: number;
  /** Items delivered to it. */
  readonly delivered: number;
  /** Attempts to it that failed (each retry's reason). */
  readonly failedAttempts: number;
  /** Items of it dead-lettered. */
  readonly deadLettered: number;
}

/** What `DeliveryEngine.withdraw()` hands back with a withdrawn item. */
export interface Withdrawn {
  /** Attempts made so far. */
  readonly attempts: number;
  /** When its next attempt was due (ms since the epoch). */
  readonly nextAttemptAt: number;
  /** The last failure, in words. */
  readonly cause: string;
  /** The last response's status, when the last attempt got one. */
  readonly status?: number | undefined;
}
