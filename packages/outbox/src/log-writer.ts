import type { AppendInput, SegmentLog } from '@q/log';
import { type Accepted, headersBytes, recordOf } from './message.js';
import type { SequenceCounter } from './sequence.js';
import type { BacklogMeter } from './stats.js';

/**
 * Appends messages to the outbox's log. Each message's seq is taken synchronously right before the append
 * is submitted, and the log stores appends in the order they were submitted, so the log's order is the
 * seqs' order: the forwarder, reading in log order, can never push a lower id after a higher one.
 */
export class LogWriter {
  readonly #log: SegmentLog;
  readonly #counter: SequenceCounter | undefined;
  readonly #backlog: BacklogMeter;
  readonly #written: () => void;
  /** Appends submitted to the log and not settled yet. */
  pending = 0;
  #idle: Array<() => void> = [];

  /** `written` is called after each append is durable (the forwarder's wake-up). */
  constructor(log: SegmentLog, counter: SequenceCounter | undefined, backlog: BacklogMeter, written: () => void) {
    this.#log = log;
    this.#counter = counter;
    this.#backlog = backlog;
    this.#written = written;
  }

  /** The counter handing out seqs, when records carry `q-outbox-seq` (a `SEQ` file exists). */
  get counter(): SequenceCounter | undefined {
    return this.#counter;
  }

  /**
   * Appends `items` (in one log group when more than one: all or nothing) with seqs taken now; resolves
   * with their seqs once durable. Rejects as the log does (`LogFullError`, `RecordTooLargeError`, the
   * signal's reason when withdrawn before it was written).
   */
  async append(items: readonly Accepted[], signal: AbortSignal | undefined): Promise<number[]> {
    // The caller made sure the reservation covers them (`counter.covers`): taking and submitting with no
    // await between is what keeps the log in seq order.
    const f = this.#counter?.take(items.length);
    if (this.#counter !== undefined && f === undefined) throw new Error('outbox: sequence reservation used up');
    const seqs = await this.#submit(
      items.map((a, i) => recordOf(a, f === undefined ? undefined : f + i)),
      signal,
    );
    return f === undefined ? seqs : items.map((_, i) => f + i);
  }

  /** Appends messages that already have their seqs (a direct-first spill), in one group. */
  async appendWithSeqs(items: readonly { readonly accepted: Accepted; readonly seq: number }[]): Promise<void> {
    await this.#submit(
      items.map((i) => recordOf(i.accepted, i.seq)),
      undefined,
    );
  }

  /** Resolves when no append is under way. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async #submit(records: AppendInput[], signal: AbortSignal | undefined): Promise<number[]> {
    const log = this.#log;
    const opts = signal === undefined ? undefined : { signal };
    this.pending++;
    let seqs: number[];
    try {
      seqs =
        records.length === 1
          ? [await log.append(records[0] as AppendInput, opts)]
          : await log.appendBatch(records, opts);
    } finally {
      if (--this.pending === 0) for (const idle of this.#idle.splice(0)) idle();
    }
    let bytes = 0;
    for (const r of records)
      bytes +=
        typeof r === 'string'
          ? Buffer.byteLength(r)
          : Buffer.isBuffer(r)
            ? r.length
            : (r.body as Buffer).length + headersBytes(r.headers);
    this.#backlog.appended(bytes);
    this.#written();
    return seqs;
  }
}
