import type { DeliveryItem, DeliveryResult, EndpointState } from './types.js';

/** What a `retry` event tells: the failed attempt and the wait before the next. */
export interface RetryInfo {
  /** The attempt that failed (1 for the first). */
  readonly attempt: number;
  /** Wait before the next attempt, in milliseconds (back-off, or a longer `Retry-After`). */
  readonly delayMs: number;
  /** Why it failed: `HTTP 503`, `timeout after 15000 ms`, `ECONNREFUSED: ...`. */
  readonly cause: string;
  /** The response's status, when there was a response. */
  readonly status?: number | undefined;
}

/** Events of {@link DeliveryEngine}. */
export interface DeliveryEngineEvents {
  /** An item got a 2xx. */
  delivered: [item: DeliveryItem, result: Extract<DeliveryResult, { outcome: 'delivered' }>];
  /** An attempt failed and another is scheduled. */
  retry: [item: DeliveryItem, info: RetryInfo];
  /** An item's dead letter is stored. */
  'dead-letter': [item: DeliveryItem, result: Extract<DeliveryResult, { outcome: 'dead-lettered' }>];
  /** An endpoint's circuit changed (opened, half-open, closed), or it was disabled (410) or enabled. */
  endpoint: [state: EndpointState];
  /** Something failed that the engine makes up for (a dead letter's write is retried). Emitted only when listened to. */
  error: [err: Error];
}
