import { join } from 'node:path';
import type { SegmentLog } from '@q/log';
import { OutboxFileError } from './errors.js';
import { BATCH_HEADER } from './message.js';
import { readText, writeDurably } from './outbox-id-file.js';

/** File listing the log seqs of batches a crash tore: one `first last` range a line. */
export const TORN_FILE = 'TORN';

/**
 * The log seqs of `sendBatch` groups torn by a crash during their write, which the forwarder skips and
 * the idempotency keys ignore: a batch is stored whole or not at all. Each record of a multi-message
 * batch carries `q-outbox-batch: <index>/<count>`; `@q/log` writes a group in one write, and a process
 * killed during it (or a power cut before its fdatasync) can leave the first frames whole, which recovery
 * keeps. Such a batch can only be the log's last records at the first open after the crash, and was
 * never acknowledged: only a batch written under `sync: 'always'` carries the header (a send then resolves
 * after the fdatasync of its whole group; under another level a torn batch may have been acknowledged,
 * and what was acknowledged is never skipped, whatever the sync of the open that finds it). The open
 * finds it there and stores its range in `TORN` before anything else is appended, so later opens, when
 * it is no longer last, still skip it.
 */
export class TornBatches {
  readonly #ranges: ReadonlyArray<readonly [number, number]>;

  private constructor(ranges: ReadonlyArray<readonly [number, number]>) {
    this.#ranges = ranges;
  }

  /** Reads `TORN` and adds a torn batch found at the log's end (its records carry `q-outbox-batch`). */
  static async open(dir: string, log: SegmentLog): Promise<TornBatches> {
    const path = join(dir, TORN_FILE);
    const ranges: Array<readonly [number, number]> = [];
    for (const line of ((await readText(path)) ?? '').split('\n')) {
      if (line === '') continue;
      const m = /^(\d{1,16}) (\d{1,16})$/.exec(line);
      if (m === null) throw new OutboxFileError(path, `not a "first last" range of seqs: ${JSON.stringify(line)}`);
      ranges.push([Number(m[1]), Number(m[2])]);
    }
    const last = log.nextSeq - 1;
    if (last < log.firstSeq || ranges.some(([, b]) => b === last)) return new TornBatches(ranges);
    const [record] = await log.read(last, { max: 1 });
    const part = record?.seq === last ? /^(\d{1,9})\/(\d{1,9})$/.exec(record.headers[BATCH_HEADER] ?? '') : null;
    if (part === null || Number(part[1]) + 1 >= Number(part[2]) || Number(part[1]) > last)
      return new TornBatches(ranges);
    // The ranges retention has deleted are dropped: the file stays a few lines.
    const kept = ranges.filter(([, b]) => b >= log.firstSeq);
    kept.push([last - Number(part[1]), last]);
    await writeDurably(dir, TORN_FILE, kept.map(([a, b]) => `${a} ${b}\n`).join(''));
    return new TornBatches(kept);
  }

  /** Whether the record with this log seq belongs to a torn batch. */
  has(seq: number): boolean {
    for (const [a, b] of this.#ranges) if (seq >= a && seq <= b) return true;
    return false;
  }
}
