import {
  backoffDelay,
  EXPIRES_AT_HEADER,
  isExpired,
  type Logger,
  type Pusher,
  pushConfirmed,
  type RetryPolicy,
  sleep,
} from '@q/core';
import type { FetchedRecord, KafkaMessage } from './client.js';
import { withDeath } from './dead-letter.js';
import type { TrackedMessage } from './offset-tracker.js';

/** Expired records of a member, since it was made. */
export interface ExpiredCounts {
  /** Expired records written to the dead-letter destination (confirmed, when it can confirm). */
  deadLettered: number;
  /** Expired records skipped because there is no dead-letter destination. */
  skipped: number;
}

/**
 * Lazy expiry on receive, RabbitMQ's per-message TTL on a broker without one: a fetched record whose
 * `q-expires-at` has passed is never handed to the handler. With a dead-letter destination it is
 * still tracked and handed to the Queue, marked `expired`, and the member's consumer dead-letters it
 * ({@link deadLetter}) instead of calling the handler: the Queue settles it (and the partition's
 * commit may pass it) only once that push was confirmed, and a stop deadline nacks it like any
 * message. Without one it is settled at once where it stands in the partition's offset order (like a
 * replay `dedupe` drops), counted, and logged once per fetched batch.
 *
 * Expiry is judged once per record, when its batch is fetched (the member's buffer is its prefetch:
 * RabbitMQ does not expire a message already delivered to a consumer either).
 */
export class ReceiveExpiry {
  readonly #deadLetter: Pusher<KafkaMessage> | undefined;
  readonly #backoff: RetryPolicy;
  readonly #logger: Logger;
  /** Counts over this member's life. */
  readonly counts: ExpiredCounts = { deadLettered: 0, skipped: 0 };
  /** The current batch's receive time. */
  #now = 0;
  /** Records of the current batch skipped so far. */
  #skippedInBatch = 0;

  constructor(deadLetter: Pusher<KafkaMessage> | undefined, backoff: RetryPolicy, logger: Logger) {
    this.#deadLetter = deadLetter;
    this.#backoff = backoff;
    this.#logger = logger;
  }

  /** Whether an expired record is skipped (no dead-letter destination) rather than dead-lettered. */
  get skipping(): boolean {
    return this.#deadLetter === undefined;
  }

  /** Starts judging one fetched batch: every record of it against the same receive time. */
  begin(now: number = Date.now()): void {
    this.#now = now;
    this.#skippedInBatch = 0;
  }

  /** Whether `record` had expired when its batch was received. */
  expired(record: FetchedRecord): boolean {
    const at = record.headers?.[EXPIRES_AT_HEADER];
    return at !== undefined && isExpired(at, this.#now);
  }

  /** Counts an expired record skipped in the current batch. */
  skipped(): void {
    this.counts.skipped++;
    this.#skippedInBatch++;
  }

  /** Ends the batch: one log line for the records it skipped, if any. */
  end(topic: string, partition: number): void {
    if (this.#skippedInBatch === 0) return;
    this.#logger.warn(
      { topic, partition, skipped: this.#skippedInBatch },
      `${this.#skippedInBatch} expired record(s) of ${topic}/${partition} skipped: no dead-letter destination`,
    );
  }

  /**
   * Writes an expired message to the dead-letter destination with a `q-death` record of reason
   * `expired`, confirmed when the pusher can confirm, trying again with back-off until it is, or
   * until `signal` aborts (the handler timeout, or the stop deadline: then it rejects, and the
   * Queue treats it as any failed attempt; the message is not committed past).
   */
  async deadLetter(m: TrackedMessage, signal: AbortSignal): Promise<void> {
    const pusher = this.#deadLetter;
    if (pusher === undefined) throw new Error('expired message without a dead-letter destination');
    const letter = withDeath(m, 'expired');
    const info = { signal };
    for (let failures = 1; ; failures++) {
      try {
        await pushConfirmed(pusher, letter, info);
        this.counts.deadLettered++;
        return;
      } catch (error) {
        if (signal.aborted) throw error;
        this.#logger.warn(
          { topic: m.topic, partition: m.partition, offset: m.offset, failures, err: error },
          `dead-lettering an expired record of ${m.topic}/${m.partition} failed; trying again`,
        );
      }
      await sleep(backoffDelay(this.#backoff, failures), signal);
      if (signal.aborted) throw signal.reason ?? new Error('aborted');
    }
  }
}
