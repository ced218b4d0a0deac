import { InvalidOptionError, type Logger } from '@q/core';
import { nonEmptyString } from '@q/core/internal';
import {
  type Cursor,
  headersBytes,
  type LogRecord,
  MAX_HEADERS_BYTES,
  MAX_RECORD_BYTES_LIMIT,
  openLog,
  RecordTooLargeError,
  type SegmentLog,
} from '@q/log';
import { utf8Prefix } from './attempt.js';
import { MAX_EXCERPT_BYTES } from './delivery-options.js';
import { DeadLettersClosedError } from './errors.js';
import type { DeadLetterReason, DeliveryItem, DeliveryResult } from './types.js';

/** A dead-lettered result, as `add` takes it. */
export type DeadLetteredResult = Extract<DeliveryResult, { outcome: 'dead-lettered' }>;

/** One stored dead letter, as `list` returns it. */
export interface DeadLetter {
  /** Its seq in the dead-letter log. */
  readonly seq: number;
  /** The item rebuilt (id, url, body, key, headers, source seq), without `acceptedAt`: a redrive starts a new age. */
  readonly item: DeliveryItem;
  /** Why it went there. */
  readonly reason: DeadLetterReason;
  /** Attempts made. */
  readonly attempts: number;
  /** The last response's status, when there was one. */
  readonly status?: number | undefined;
  /** The last failure, in words (at most 512 characters). */
  readonly cause: string;
  /** The start of the last failed response's body (`''` when none). */
  readonly excerpt: string;
  /** When it was dead-lettered, in milliseconds since the epoch. */
  readonly at: number;
}

/** Options of {@link DeadLetters.open}. */
export interface DeadLettersOptions {
  /** The dead-letter log's directory (an `@q/log`, created when missing, `sync: 'always'`). */
  dir: string;
  /** Where the log reports recovery and failures. @default consoleLogger */
  logger?: Logger;
}

/** Longest `q-dl-cause`, in characters. */
const MAX_CAUSE_CHARS = 512;
/** Prefix of an item's own headers in its dead letter. */
const ITEM_HEADER = 'q-h-';
/** Records read per page by `redrive`, and how many it sends between two commits of its position. */
const PAGE = 100;
/** The dead-letter log's cursor: through where redrives sent them in order. */
const REDRIVEN_CURSOR = 'redriven';

/**
 * The dead letters of a delivery engine, in an `@q/log` of their own (fsync'd before `add` resolves). Each
 * record's body is the item's body; its headers say what it was and why it failed: `q-dl-id`, `q-dl-url`,
 * `q-dl-reason`, `q-dl-attempts`, `q-dl-status` (when a response came), `q-dl-cause`, `q-dl-excerpt`,
 * `q-dl-seq` and `q-dl-key` (when the item had them), `q-dl-at` (ISO time), and the item's headers as
 * `q-h-<name>`. An item whose headers would not fit the log's 64 KiB of headers is stored without them
 * and marked `q-dl-truncated: headers`. Read them with `list`, send them again with `redrive`, or
 * `q-log tail <dir>`.
 */
export class DeadLetters {
  /** The dead-letter log's directory. */
  readonly dir: string;
  readonly #log: SegmentLog;
  /** Through where redrives sent the dead letters in order: a redrive without `from` starts there. */
  readonly #redriven: Cursor;
  /** Redrives run one after another: two at once would both start at the same position. */
  #redriving: Promise<unknown> = Promise.resolve();
  #closed = false;

  /** Opens (or creates) the dead letters at `options.dir`. */
  static async open(options: DeadLettersOptions): Promise<DeadLetters> {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
    const dir = nonEmptyString('dir', options.dir);
    const log = await openLog({
      dir,
      sync: 'always',
      // Whatever the engine could send must fit as a dead letter: the log's largest record.
      maxRecordBytes: MAX_RECORD_BYTES_LIMIT,
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    });
    try {
      return new DeadLetters(dir, log, await log.cursor(REDRIVEN_CURSOR));
    } catch (err) {
      await log.close();
      throw err;
    }
  }

  private constructor(dir: string, log: SegmentLog, redriven: Cursor) {
    this.dir = dir;
    this.#log = log;
    this.#redriven = redriven;
  }

  /** The first dead letter no redrive without a range has sent yet (see {@link DeadLetters.redrive}). */
  get redrivenThrough(): number {
    return Math.max(this.#redriven.position, this.#log.firstSeq);
  }

  /** Dead letters stored (retention never deletes them). */
  get count(): number {
    return this.#log.nextSeq - this.#log.firstSeq;
  }

  /**
   * Appends `item`'s dead letter durably; resolves with its seq once fsync'd. `excerpt` (the start of the
   * last response's body) is kept up to 16 KiB, cut at a character boundary.
   */
  async add(item: DeliveryItem, result: DeadLetteredResult, excerpt = ''): Promise<number> {
    if (this.#closed) throw new DeadLettersClosedError(this.dir);
    const own: Record<string, string> = {
      'q-dl-id': item.id,
      'q-dl-url': String(item.url),
      'q-dl-reason': result.reason,
      'q-dl-attempts': String(result.attempts),
      'q-dl-cause': result.cause.length > MAX_CAUSE_CHARS ? result.cause.slice(0, MAX_CAUSE_CHARS) : result.cause,
      'q-dl-excerpt': utf8Prefix(Buffer.from(excerpt), MAX_EXCERPT_BYTES),
      'q-dl-at': new Date().toISOString(),
    };
    if (result.status !== undefined) own['q-dl-status'] = String(result.status);
    if (item.seq !== undefined) own['q-dl-seq'] = String(item.seq);
    if (item.key !== undefined) own['q-dl-key'] = item.key;
    let headers = own;
    if (item.headers !== undefined) {
      const whole: Record<string, string> = Object.create(null);
      Object.assign(whole, own);
      for (const name in item.headers) whole[`${ITEM_HEADER}${name}`] = item.headers[name] as string;
      if (headersBytes(whole) <= MAX_HEADERS_BYTES) headers = whole;
      else own['q-dl-truncated'] = 'headers';
    }
    try {
      return await this.#log.append({ body: item.body, headers });
    } catch (err) {
      if (!(err instanceof RecordTooLargeError) && !(err instanceof InvalidOptionError)) throw err;
      // Never lose the fact of the failure: the dead letter without what would not fit.
      return this.#log.append({ body: Buffer.alloc(0), headers: { ...own, 'q-dl-truncated': 'body,headers' } });
    }
  }

  /** Up to `max` (1 to 10000, default 100) dead letters from seq `from` on (default: the first). */
  async list(options?: { from?: number; max?: number }): Promise<DeadLetter[]> {
    const { from, max } = this.#range(options?.from, options?.max ?? 100);
    if (from >= this.#log.nextSeq) return [];
    return (await this.#log.read(from, { max })).map(toDeadLetter);
  }

  /**
   * Sends the dead letters `[from, to]` to `into`, one at a time in order, awaiting each; resolves with how
   * many. They stay in the dead-letter log. `to` defaults to the last one at the call; `from` to
   * {@link DeadLetters.redrivenThrough}: the first dead letter that no redrive sent in order from there, so
   * a redrive without a range goes on where the last one stopped. Only sending in order from that position
   * moves it (durably, a page of 100 at a time, and when a redrive stops: `into` threw, or `close()`):
   * a redrive of a range above it sends that range, which a later redrive without a range sends again. A
   * crash may leave up to a page to be sent again, with the same ids. Redrives run one after another.
   */
  async redrive(
    into: (item: DeliveryItem) => Promise<unknown>,
    options?: { from?: number; to?: number },
  ): Promise<number> {
    if (typeof into !== 'function') throw new InvalidOptionError('into', into, 'a function');
    const to = options?.to;
    if (to !== undefined && !Number.isInteger(to)) throw new InvalidOptionError('to', to, 'an integer');
    // `from` checked now, not behind a redrive under way.
    this.#range(options?.from, PAGE);
    const run = this.#redriving.then(() => this.#redrive(into, options?.from, to));
    this.#redriving = run.catch(() => undefined);
    return await run;
  }

  async #redrive(
    into: (item: DeliveryItem) => Promise<unknown>,
    start: unknown,
    end: number | undefined,
  ): Promise<number> {
    let { from } = this.#range(start ?? this.#redriven.position, PAGE);
    const to = end ?? this.#log.nextSeq - 1;
    /** The next seq whose sending moves the redriven position (sent in order from it). */
    let inOrder = this.#redriven.position;
    let count = 0;
    try {
      while (from <= to && from < this.#log.nextSeq) {
        const records = await this.#log.read(from, { max: Math.min(PAGE, to - from + 1) });
        if (records.length === 0) break;
        for (const record of records) {
          if (record.seq > to) return count;
          // Closed meanwhile: nothing more goes out; what went is committed below.
          if (this.#closed) throw new DeadLettersClosedError(this.dir);
          await into(toDeadLetter(record).item);
          count++;
          if (record.seq <= inOrder) inOrder = Math.max(inOrder, record.seq + 1);
        }
        from = (records[records.length - 1] as LogRecord).seq + 1;
        if (inOrder > this.#redriven.position) await this.#redriven.commit(inOrder);
      }
      return count;
    } finally {
      // close() waits for this before it closes the log.
      if (inOrder > this.#redriven.position) await this.#redriven.commit(inOrder);
    }
  }

  /**
   * Closes the dead-letter log. A redrive under way stops after the `into()` call in progress (which close
   * waits for), keeps what it sent (the next redrive starts after it) and rejects with
   * `DeadLettersClosedError`.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#redriving;
    await this.#log.close();
  }

  #range(from: unknown, max: unknown): { from: number; max: number } {
    if (this.#closed) throw new DeadLettersClosedError(this.dir);
    const first = from ?? this.#log.firstSeq;
    if (typeof first !== 'number' || !Number.isInteger(first) || first < 0)
      throw new InvalidOptionError('from', first, 'an integer >= 0');
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 10_000)
      throw new InvalidOptionError('max', max, 'an integer from 1 to 10000');
    return { from: Math.max(first, this.#log.firstSeq), max };
  }
}

/** A stored record read back as a dead letter. */
function toDeadLetter(record: LogRecord): DeadLetter {
  const h = record.headers;
  let headers: Record<string, string> | undefined;
  for (const name in h) {
    if (!name.startsWith(ITEM_HEADER)) continue;
    headers ??= {};
    headers[name.slice(ITEM_HEADER.length)] = h[name] as string;
  }
  const seq = h['q-dl-seq'];
  const status = h['q-dl-status'];
  const item: DeliveryItem = {
    id: h['q-dl-id'] ?? '',
    url: h['q-dl-url'] ?? '',
    // Records of one read share a buffer: a copy lives apart from the page.
    body: Buffer.from(record.body),
    key: h['q-dl-key'],
    headers,
    seq: seq === undefined ? undefined : Number(seq),
  };
  const at = Date.parse(h['q-dl-at'] ?? '');
  return {
    seq: record.seq,
    item,
    reason: (h['q-dl-reason'] ?? 'rejected') as DeadLetterReason,
    attempts: Number(h['q-dl-attempts'] ?? 0),
    status: status === undefined ? undefined : Number(status),
    cause: h['q-dl-cause'] ?? '',
    excerpt: h['q-dl-excerpt'] ?? '',
    at: Number.isNaN(at) ? record.timestamp : at,
  };
}
