import { OUTBOX_ID_HEADER, parseOutboxId } from '@q/core';

/**
 * `KafkaQueue`'s `dedupe: 'outbox-id'` for one partition assignment: the highest sequence seen per
 * outbox (header `q-outbox-id`, `<outbox>:<seq>`), and whether a record is a replay of what came
 * before it in the partition.
 *
 * Why "at or below the highest seen" means "seen before": `@q/outbox` keeps one batch in flight and
 * retries a failed batch whole before anything after it, and `KafkaPusher.pushBatch` writes a batch
 * in one `send` whose records for one partition are written together or not at all. So in a
 * partition an outbox's sequences only go down when a batch comes again, and every record of that
 * replay was already written earlier in the same partition, provided each message goes to the same
 * partition on every replay (a key, or an explicit partition: a keyless message is spread
 * round-robin by the producer, and a replay may put it elsewhere).
 *
 * One map entry per outbox seen in the partition while assigned; records must be offered in offset
 * order, and each exactly once.
 */
export class OutboxReplayFilter {
  /** Highest sequence seen per outbox id. */
  readonly #highest = new Map<string, number>();
  readonly #counter: ReplayCounter;

  /** @param counter counts the replays {@link drop} reports (shared by the filters of one member). */
  constructor(counter: ReplayCounter = { dropped: 0 }) {
    this.#counter = counter;
  }

  /**
   * Whether the record with these headers is a replay (its outbox's sequence at or below the highest
   * seen so far), counted as dropped; otherwise its sequence becomes the highest seen. A record
   * without the header, or with one that is not `<outbox>:<seq>`, is never a replay and changes
   * nothing.
   */
  drop(headers: Readonly<Record<string, unknown>> | undefined): boolean {
    if (!this.#replay(headers)) return false;
    this.#counter.dropped++;
    return true;
  }

  /** Takes note of a record that is not handed out for another reason (an offset map's), as {@link drop} would. */
  see(headers: Readonly<Record<string, unknown>> | undefined): void {
    this.#replay(headers);
  }

  /** Outboxes seen in this partition so far. */
  get outboxes(): number {
    return this.#highest.size;
  }

  #replay(headers: Readonly<Record<string, unknown>> | undefined): boolean {
    const raw = headers?.[OUTBOX_ID_HEADER];
    if (raw === undefined) return false;
    const id = parseOutboxId(Buffer.isBuffer(raw) ? raw.toString('latin1') : raw);
    if (id === undefined) return false;
    const highest = this.#highest.get(id.outbox);
    if (highest !== undefined && id.seq <= highest) return true;
    this.#highest.set(id.outbox, id.seq);
    return false;
  }
}

/** Where {@link OutboxReplayFilter}s count the replays they dropped. */
export interface ReplayCounter {
  /** Replays dropped so far. */
  dropped: number;
}
