import type { AttemptSignal } from './attempt-signal.js';
import type { Endpoint } from './endpoint.js';
import type { DeliveryItem, DeliveryResult } from './types.js';

/**
 * Where a job is: waiting behind an earlier item of its key, ready at its endpoint, waiting for its
 * retry time, in an HTTP attempt, storing its dead letter, or finished.
 */
export type JobState = 'key-wait' | 'ready' | 'scheduled' | 'in-flight' | 'dead-lettering' | 'done';

/**
 * One `deliver()` call's state, from the call until it finished. The engine's lists (an endpoint's ready
 * queue, a key's waiting line, the engine's open jobs) are threaded through its fields, so a delivery
 * allocates this object and its promise and no list nodes.
 */
export class DeliveryJob {
  readonly item: DeliveryItem;
  /** Its endpoint, found when it became its key's head; `undefined` before, or when the URL is not http(s). */
  endpoint: Endpoint | undefined = undefined;
  /** Past this instant (ms since the epoch) no attempt starts: `acceptedAt + maxAgeMs`. */
  readonly deadline: number;
  /** What `deliver()` returned. */
  readonly promise: Promise<DeliveryResult>;
  resolve!: (result: DeliveryResult) => void;
  reject!: (err: Error) => void;
  state: JobState = 'key-wait';
  /** Attempts started. */
  attempts = 0;
  /** The attempt that has settled last (a late answer of an attempt past its deadline is ignored). */
  settled = 0;
  /** Whether the current attempt is its endpoint's half-open probe. */
  probe = false;
  /** The last response's status, `undefined` when the last attempt got none. */
  status: number | undefined = undefined;
  /** The last failure, in words (`HTTP 503`, `timeout after 15000 ms`, `ECONNREFUSED: ...`). */
  cause = '';
  /** The start of the last failed response's body (UTF-8, cut at a character boundary). */
  excerpt: string | undefined = undefined;
  /** The wait the last response's `Retry-After` asked for, in milliseconds. */
  retryAfterMs: number | undefined = undefined;
  /** The request headers: built at the first attempt, timestamp and signature renewed at each. */
  headers: Record<string, string> | undefined = undefined;
  /** Aborts the attempt in flight. */
  signal: AttemptSignal | undefined = undefined;
  /** When the waited-for retry is due (ms since the epoch), while `scheduled`. */
  dueAt = 0;
  /** The attempt's deadline timer, or the retry's wait timer. */
  timer: NodeJS.Timeout | undefined = undefined;
  /** Next in its endpoint's ready queue. */
  nextReady: DeliveryJob | undefined = undefined;
  /** The next item of the same key, waiting for this one to finish. */
  nextOfKey: DeliveryJob | undefined = undefined;
  /** Neighbours in the engine's list of unfinished jobs (for close and for disabling an endpoint). */
  prevOpen: DeliveryJob | undefined = undefined;
  nextOpen: DeliveryJob | undefined = undefined;

  constructor(item: DeliveryItem, deadline: number) {
    this.item = item;
    this.deadline = deadline;
    this.attempts = item.attempts ?? 0;
    this.settled = this.attempts;
    this.promise = new Promise<DeliveryResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}
