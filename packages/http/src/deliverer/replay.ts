import { InvalidOptionError } from '@q/core';
import type { SegmentLog } from '@q/log';
import type { DeliveryEngine } from '../delivery/delivery-engine.js';
import { DeliveryClosedError, type InvalidItemError, ReplayRangeError } from '../delivery/errors.js';
import type { DeliveryItem, DeliveryResult } from '../delivery/types.js';
import { isHttpUrl } from './deliverer-options.js';
import { DeliveryRun } from './delivery-run.js';
import { type RecordItemOptions, recordToItem } from './record-item.js';
import type { ReplayCursors } from './replay-cursors.js';

/** What {@link HttpDeliverer.replay} takes. */
export interface ReplayOptions {
  /** The first seq to send again: from the log's first stored seq to its last. */
  from: number;
  /** The last seq to send again (inclusive), from `from` to the log's last seq. @default the last seq at the call */
  to?: number;
  /** Where to send every record of the range. @default each record's own target */
  url?: string;
  /** Aborting it stops the replay (what was handed over runs on); the promise rejects with its reason. @default none */
  signal?: AbortSignal;
}

/** How a replay went: its range, and how its records finished. */
export interface ReplayResult {
  /** The first seq replayed. */
  readonly from: number;
  /** The last seq replayed (inclusive). */
  readonly to: number;
  /** Records of the range delivered (a 2xx). */
  readonly delivered: number;
  /** Records of the range that went to the dead letters. */
  readonly deadLettered: number;
}

/** What a replay shares with its deliverer. */
export interface ReplayContext {
  readonly log: SegmentLog;
  readonly engine: DeliveryEngine;
  readonly cursors: ReplayCursors;
  readonly maxUnfinished: number;
  readonly commitIntervalMs: number;
  /** How records become items (a replay's `url` replaces their targets). */
  readonly itemOptions: RecordItemOptions;
  readonly finished: (item: DeliveryItem, result: DeliveryResult) => void;
  readonly refuse: (item: DeliveryItem, error: InvalidItemError) => Promise<DeliveryResult>;
  readonly error: (error: unknown, message: string) => void;
  readonly handing: (item: DeliveryItem) => void;
  /**
   * The deliverer's replay runs with records in the engine: a run is added when it starts and leaves once
   * drained, so that close on a shared engine takes back what of them waits for a retry.
   */
  readonly runs: Set<DeliveryRun>;
  /** Aborted when the deliverer closes: running replays reject with `DeliveryClosedError`. */
  readonly closing: AbortSignal;
  /** With parking: a replayed record of a parked key waits until the key left (see `DeliveryRunParts`). */
  readonly keyParked?: ((key: string, signal: AbortSignal) => Promise<void> | undefined) | undefined;
}

/** What the live, park and replay runs of a deliverer share. */
export type RunParts = Pick<
  ReplayContext,
  'engine' | 'maxUnfinished' | 'commitIntervalMs' | 'finished' | 'refuse' | 'error' | 'handing'
>;

/**
 * Throws `ReplayRangeError` unless `[from, to]` lies within what the log holds now: a replay past the end (or
 * below what retention kept) is refused, never shortened. Returns the last seq of the range.
 */
export function checkReplayRange(log: SegmentLog, from: number, to: number | undefined): number {
  const firstSeq = log.firstSeq;
  const lastSeq = log.nextSeq - 1;
  const range = { from, to, firstSeq, lastSeq };
  if (from > lastSeq) throw new ReplayRangeError(`Replay from ${from} is past the log's last seq (${lastSeq})`, range);
  if (from < firstSeq)
    throw new ReplayRangeError(`Replay from ${from} is below the log's first stored seq (${firstSeq})`, range);
  if (to !== undefined && to < from) throw new ReplayRangeError(`Replay to ${to} is below its from (${from})`, range);
  if (to !== undefined && to > lastSeq)
    throw new ReplayRangeError(`Replay to ${to} is past the log's last seq (${lastSeq})`, range);
  return to ?? lastSeq;
}

function seqOption(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw new InvalidOptionError(name, value, 'an integer >= 0');
}

/**
 * Sends the records `[from, to]` again on a cursor of their own (`replay-<n>`, sought to `from`), to `url`
 * or each record's target, with their usual ids; the live cursor is never touched. Resolves once every
 * record of the range finished (delivered or dead-lettered).
 */
export async function runReplay(ctx: ReplayContext, options: ReplayOptions): Promise<ReplayResult> {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
  const { from, url, signal } = options;
  seqOption('from', from);
  if (options.to !== undefined) seqOption('to', options.to);
  if (url !== undefined && !isHttpUrl(url)) throw new InvalidOptionError('url', url, 'an absolute http: or https: URL');
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw new InvalidOptionError('signal', signal, 'an AbortSignal');
  if (ctx.closing.aborted) throw new DeliveryClosedError('The deliverer is closed: no replay started');
  signal?.throwIfAborted();
  const to = checkReplayRange(ctx.log, from, options.to);
  const itemOptions = url === undefined ? ctx.itemOptions : { ...ctx.itemOptions, urlOf: () => url };
  const cursor = await ctx.cursors.take();
  let delivered = 0;
  let deadLettered = 0;
  let run: DeliveryRun | undefined;
  let stop: (() => void) | undefined;
  try {
    await cursor.seek(from);
    // Retention may have run between the check and the seek: from then on the cursor holds the range.
    checkReplayRange(ctx.log, from, to);
    run = new DeliveryRun({
      log: ctx.log,
      cursor,
      engine: ctx.engine,
      from,
      to,
      toItem: (record) => recordToItem(record, itemOptions),
      maxUnfinished: ctx.maxUnfinished,
      commitIntervalMs: ctx.commitIntervalMs,
      finished: (item, result) => {
        if (result.outcome === 'delivered') delivered++;
        else deadLettered++;
        ctx.finished(item, result);
      },
      refuse: ctx.refuse,
      error: ctx.error,
      handing: ctx.handing,
      keyParked: ctx.keyParked,
    });
    const started = run;
    ctx.runs.add(started);
    void started.drained().then(() => ctx.runs.delete(started));
    let stopped!: () => void;
    const stoppedEarly = new Promise<void>((resolve) => {
      stopped = resolve;
    });
    stop = (): void => {
      started.stop();
      stopped();
    };
    signal?.addEventListener('abort', stop, { once: true });
    ctx.closing.addEventListener('abort', stop, { once: true });
    if (signal?.aborted || ctx.closing.aborted) stop();
    run.start();
    await Promise.race([run.reading.then(() => started.drained()), stoppedEarly]);
    signal?.throwIfAborted();
    if (!run.complete || run.unfinished > 0)
      throw new DeliveryClosedError(
        `Replay ${from}..${to} stopped with ${run.unfinished} records unfinished and ${to - run.next + 1} unread`,
      );
    return { from, to, delivered, deadLettered };
  } finally {
    if (stop !== undefined) {
      signal?.removeEventListener('abort', stop);
      ctx.closing.removeEventListener('abort', stop);
    }
    run?.stop();
    try {
      await run?.commitNow();
    } catch {
      // A replay's cursor only holds retention back; the next commit (or replay) covers it.
    }
    ctx.cursors.release(cursor);
  }
}
