import type { Logger } from '@q/core';
import { type Cursor, MAX_RECORD_BYTES_LIMIT, openLog, type SegmentLog } from '@q/log';
import { DeliveryRun, type DeliveryRunParts, type ParkedItem } from './delivery-run.js';
import { parkable, parkedNotBefore, parkedToItem, parkRecord } from './park-record.js';
import { ParkedKeys } from './parked-keys.js';

/** The parked run's cursor in the park log. */
const PARKED_CURSOR = 'parked';

/** What the park shares with the live run. */
export type ParkParts = Pick<
  DeliveryRunParts,
  'engine' | 'maxUnfinished' | 'commitIntervalMs' | 'finished' | 'refuse' | 'error' | 'handing'
> & {
  readonly dir: string;
  readonly logger: Logger;
};

/**
 * The park log (sync 'always') where records that only wait for their retry go when a window is full, and
 * the run that delivers them from there: each record is held until its retry time, then handed to the
 * engine with its attempts; when that run's own window fills, it parks into the same log again (a keyed
 * record with its key's line, as a new placement of the key: see `ParkedKeys`).
 */
export class Park {
  readonly log: SegmentLog;
  readonly #cursor: Cursor;
  readonly run: DeliveryRun;
  /** The keys with records here or on their way (the live run parks their later records behind them). */
  readonly keys: ParkedKeys;
  /** Records moved into the park log (from either run) since it opened. */
  parked = 0;

  private constructor(log: SegmentLog, cursor: Cursor, keys: ParkedKeys, parts: ParkParts) {
    this.log = log;
    this.#cursor = cursor;
    this.keys = keys;
    this.run = new DeliveryRun({
      ...parts,
      finished: (item, result) => {
        if (item.key !== undefined) keys.finish(item.key);
        parts.finished(item, result);
      },
      log,
      cursor,
      from: cursor.position,
      toItem: parkedToItem,
      holdUntil: parkedNotBefore,
      park: this.store,
      parkable,
      parkedKeys: keys,
      moveKeys: true,
    });
  }

  /** Opens the park log at `dir` and its cursor; the run starts with {@link Park.run}'s `start()`. */
  static async open(parts: ParkParts): Promise<Park> {
    const log = await openLog({
      dir: parts.dir,
      sync: 'always',
      maxRecordBytes: MAX_RECORD_BYTES_LIMIT,
      logger: parts.logger,
    });
    try {
      const cursor = await log.cursor(PARKED_CURSOR);
      const keys = new ParkedKeys();
      await keys.load(log, cursor.position);
      return new Park(log, cursor, keys, parts);
    } catch (err) {
      await log.close();
      throw err;
    }
  }

  /** Appends withdrawn items in one durable batch (all or none), resolving with their seqs; rejects when they were not stored. */
  readonly store = async (batch: readonly ParkedItem[]): Promise<number[]> => {
    const seqs = await this.log.appendBatch(batch.map(({ item, withdrawn, gen }) => parkRecord(item, withdrawn, gen)));
    this.parked += batch.length;
    return seqs;
  };

  /** Park records not finished: not read yet, or read and unfinished. */
  get backlog(): number {
    return Math.max(0, this.log.nextSeq - this.run.next) + this.run.unfinished;
  }

  /** Park records read past the parked cursor. */
  get readAhead(): number {
    return this.run.next - this.#cursor.position;
  }

  /** The parked cursor's position. */
  get position(): number {
    return this.#cursor.position;
  }

  /** Drops the sealed segments the parked cursor passed. */
  async trim(): Promise<void> {
    await this.log.applyRetention();
  }
}
