import type { SegmentLog } from '@q/log';
import { recordBytes } from './message.js';

/** What {@link Outbox.stats} reports. */
export interface OutboxStats {
  /** The mode the outbox runs in. */
  readonly mode: 'write-ahead' | 'direct-first';
  /** Where direct-first sends go now: straight to the sink, or to the log (after a spill, until drained). */
  readonly route: 'direct' | 'log';
  /** The sink as the last push found it. */
  readonly sink: 'up' | 'down';
  /** Messages in the log not yet forwarded. */
  readonly backlogMessages: number;
  /** Their bytes (bodies and headers as stored); counted from the open on, after a scan of what was there. */
  readonly backlogBytes: number;
  /** Age of the oldest message not yet forwarded, from its record's timestamp; 0 when there is none. */
  readonly oldestAgeMs: number;
  /** Direct-first messages waiting in memory or in the batch being pushed. */
  readonly directPending: number;
  /** Sends resolved (safe), duplicates not counted. */
  readonly accepted: number;
  /** Messages the forwarder pushed from the log and the sink confirmed. */
  readonly forwarded: number;
  /** Direct-first messages the sink confirmed without going through the log. */
  readonly direct: number;
  /** Direct-first messages written to the log instead. */
  readonly spilled: number;
  /** Messages the sink refused for good, now in the dead-letter log. */
  readonly deadLettered: number;
  /** Sends whose idempotency key was already taken: nothing stored, the earlier id returned. */
  readonly duplicatesSuppressed: number;
}

/** The counters behind {@link OutboxStats}, written by the parts of the outbox. */
export class OutboxCounters {
  accepted = 0;
  forwarded = 0;
  direct = 0;
  spilled = 0;
  deadLettered = 0;
  duplicatesSuppressed = 0;
}

/**
 * Bytes of the log's backlog without keeping a record of each: what a scan at open found between the
 * cursor and the end, plus what was appended since, minus what the forwarder has moved past.
 */
export class BacklogMeter {
  #scanned = 0;
  #appended = 0;
  #forwarded = 0;

  /** Counts the backlog found at open, in the background (a failed scan leaves it uncounted). */
  scan(log: SegmentLog, from: number): void {
    const end = log.durableSeq;
    void (async () => {
      let seq = from;
      while (seq < end) {
        const records = await log.read(seq, { max: 4096, maxBytes: 8 * 1024 * 1024 });
        if (records.length === 0) break;
        for (const r of records) if (r.seq < end) this.#scanned += recordBytes(r);
        seq = (records[records.length - 1]?.seq ?? seq) + 1;
      }
    })().catch(() => undefined);
  }

  /** Records of these bytes were appended. */
  appended(bytes: number): void {
    this.#appended += bytes;
  }

  /** The forwarder moved past records of these bytes. */
  forwarded(bytes: number): void {
    this.#forwarded += bytes;
  }

  /** The backlog's bytes now. */
  get bytes(): number {
    return Math.max(0, this.#scanned + this.#appended - this.#forwarded);
  }
}
