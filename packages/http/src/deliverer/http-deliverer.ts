import { EventEmitter } from 'node:events';
import { QueueStateError } from '@q/core';
import { duration, settledWithin } from '@q/core/internal';
import type { Cursor } from '@q/log';
import { DeadLetters } from '../delivery/dead-letters.js';
import { DeliveryEngine } from '../delivery/delivery-engine.js';
import type { RetryInfo } from '../delivery/engine-events.js';
import { DeliveryClosedError, type InvalidItemError, ParkLogStoppedError } from '../delivery/errors.js';
import type { DeliveryItem, DeliveryResult, EndpointState } from '../delivery/types.js';
import {
  type HttpDelivererOptions,
  type ResolvedDelivererOptions,
  resolveDelivererOptions,
} from './deliverer-options.js';
import { DeliveryRun } from './delivery-run.js';
import { Park } from './park.js';
import { parkable } from './park-record.js';
import { type RecordItemOptions, recordToItem } from './record-item.js';
import { type ReplayOptions, type ReplayResult, type RunParts, runReplay } from './replay.js';
import { ReplayCursors } from './replay-cursors.js';
import { settleOnShared } from './shared-close.js';

export type { HttpDelivererOptions } from './deliverer-options.js';
export type { ReplayOptions, ReplayResult } from './replay.js';

/** How often parked replay cursors catch up with the live one (they only hold retention back). */
const FOLLOW_MS = 1_000;

/** What {@link HttpDeliverer.stats} reports. */
export interface HttpDelivererStats {
  /** The live cursor's position: everything below it finished. */
  readonly cursor: number;
  /** The log's next seq. */
  readonly nextSeq: number;
  /** Records not finished: not read yet, or read and unfinished. */
  readonly backlog: number;
  /** Records read and not finished (at most `maxUnfinished`). */
  readonly unfinished: number;
  /** Records of this deliverer (live and replays) delivered since it started. */
  readonly delivered: number;
  /** Records of this deliverer dead-lettered since it started. */
  readonly deadLettered: number;
  /** Retries of this deliverer's records since it started. */
  readonly retried: number;
  /** The engine's endpoints. */
  readonly endpoints: EndpointState[];
  /** Dead letters stored (all of the dead-letter log, earlier runs included). */
  readonly deadLetters: number;
  /** Records moved to the park log since start (re-parkings included); 0 without `parkDir`. */
  readonly parked: number;
  /** Park log records not finished yet; 0 without `parkDir`. */
  readonly parkedBacklog: number;
  /**
   * Records read past the committed cursors (the live one and the park log's): at most what a crash now
   * would send again after the restart. The cursor waits for the lowest unfinished record, so one slow
   * record lets this grow beyond `maxUnfinished`.
   */
  readonly readAhead: number;
  /**
   * `'idle'` before `start()`, `'running'`, `'stopped'` when delivery stopped by itself (a shared engine was
   * closed under it: make a new deliverer to resume), `'closed'` once `close()` was called.
   */
  readonly state: 'idle' | 'running' | 'stopped' | 'closed';
}

/**
 * Delivers a `@q/log` by HTTP: reads it from its cursor, hands each record to a {@link DeliveryEngine}
 * (per-endpoint concurrency, retries, circuit breaker, dead letters, signatures) and commits the cursor up to
 * the lowest record not finished, so a restart resumes by itself and re-sends only what may not have
 * finished (with the same ids). {@link HttpDeliverer.replay} re-sends a range on a cursor of its own.
 *
 * Events: the engine's `delivered` (item, result), `retry` (item, info) and `dead-letter` (item, result) for
 * this deliverer's items, `endpoint` (state), and `error` (trouble it works around: a failed commit or read;
 * logged when nobody listens).
 */
export class HttpDeliverer extends EventEmitter {
  readonly #o: ResolvedDelivererOptions;
  readonly #itemOptions: RecordItemOptions;
  readonly #cursors: ReplayCursors;
  readonly #closing = new AbortController();
  /** Items handed to the engine by this deliverer: a shared engine's events name others' too. */
  readonly #mine = new WeakSet<DeliveryItem>();
  readonly #replays = new Set<Promise<unknown>>();
  readonly #replayRuns = new Set<DeliveryRun>();
  /** What the live, park and replay runs share, known once `start()` made or took the engine. */
  #runParts: RunParts | undefined;
  #engine: DeliveryEngine | undefined;
  #deadLetters: DeadLetters | undefined;
  #ownEngine = false;
  #cursor: Cursor | undefined;
  #live: DeliveryRun | undefined;
  #park: Park | undefined;
  #starting: Promise<void> | undefined;
  #closed: Promise<void> | undefined;
  #followTimer: NodeJS.Timeout | undefined;
  #detach: (() => void) | undefined;
  #delivered = 0;
  #deadLettered = 0;
  #retried = 0;

  /** @throws {InvalidOptionError} naming the option at fault. */
  constructor(options: HttpDelivererOptions) {
    super();
    this.#o = resolveDelivererOptions(options);
    const { url, idPrefix, urlOf, keyOf } = this.#o;
    this.#itemOptions = { url, idPrefix, urlOf, keyOf };
    this.#cursors = new ReplayCursors(this.#o.log);
  }

  /** The engine (shared, or the own one made by `start()`). */
  get engine(): DeliveryEngine {
    if (this.#engine === undefined) throw new QueueStateError('HttpDeliverer: the engine is made by start()', 'new');
    return this.#engine;
  }

  /** The engine's dead letters. */
  get deadLetters(): DeadLetters {
    if (this.#deadLetters === undefined)
      throw new QueueStateError(
        'HttpDeliverer: the dead letters are known from start()',
        this.#engine === undefined ? 'new' : 'running',
      );
    return this.#deadLetters;
  }

  /**
   * Starts reading at the live cursor's committed position (so it resumes by itself after a restart); makes
   * the own engine and opens its dead letters first. Resolves once reading runs; a second call returns the
   * same promise.
   * @throws {DeliveryClosedError} after `close()`.
   */
  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    const o = this.#o;
    if (this.#closing.signal.aborted) throw new DeliveryClosedError('The deliverer is closed');
    if (o.engine instanceof DeliveryEngine) {
      this.#engine = o.engine;
      this.#deadLetters = o.engine.deadLetters;
    } else {
      const deadLetters = await DeadLetters.open({ dir: o.deadLetterDir as string, logger: o.logger });
      try {
        this.#engine = new DeliveryEngine({ logger: o.logger, ...o.engine, deadLetters });
      } catch (err) {
        await deadLetters.close();
        throw err;
      }
      this.#deadLetters = deadLetters;
      this.#ownEngine = true;
    }
    this.#attach(this.#engine);
    const shared: RunParts = (this.#runParts = {
      engine: this.#engine,
      maxUnfinished: o.maxUnfinished,
      commitIntervalMs: o.commitIntervalMs,
      finished: this.#finished,
      refuse: this.#refuse,
      error: this.#error,
      handing: this.#handing,
    });
    try {
      this.#cursor = await o.log.cursor(o.cursor);
      await this.#cursors.load();
      if (o.parkDir !== undefined) this.#park = await Park.open({ ...shared, dir: o.parkDir, logger: o.logger });
      if (this.#closing.signal.aborted) throw new DeliveryClosedError('The deliverer was closed while starting');
    } catch (err) {
      await this.#release();
      throw err;
    }
    const cursor = this.#cursor;
    this.#live = new DeliveryRun({
      ...shared,
      log: o.log,
      cursor,
      from: cursor.position,
      toItem: (record) => recordToItem(record, this.#itemOptions),
      park: this.#park?.store,
      parkable,
      parkedKeys: this.#park?.keys,
    });
    this.#live.start();
    this.#park?.run.start();
    const park = this.#park;
    park?.run.reading.then(() => this.#parkEnded(park));
    this.#followTimer = setInterval(() => {
      park?.trim().catch((err: unknown) => this.#error(err, 'http: retention of the park log failed'));
      if (this.#cursors.parked > 0)
        this.#cursors
          .follow(cursor.position)
          .catch((err: unknown) => this.#error(err, 'http: moving a replay cursor failed'));
    }, FOLLOW_MS);
    this.#followTimer.unref();
  }

  /** The park run's reading ended: by itself (not stopped) means the park log stopped for good. */
  #parkEnded(park: Park): void {
    if (park.run.stopped || this.#closing.signal.aborted) return;
    // Without parked keys, failed park appends hand records back to the engine: delivery goes on.
    const keys = park.keys.anyStored();
    this.#error(
      new ParkLogStoppedError(),
      `http: the park log stopped${keys ? ' with keys in it: delivery stopped' : ''}`,
    );
    if (keys) this.#live?.stop();
  }

  /**
   * Sends `[from, to]` again (to `url`, or each record's own target) on its own temporary cursor `replay-<n>`;
   * live delivery and the live cursor go on untouched. Resolves once every record of the range finished.
   * @throws {ReplayRangeError} (code `Q_HTTP_REPLAY_RANGE`) when `from` is past the last seq or below the first
   *   stored one, or `to` is below `from` or past the last seq.
   * @throws {DeliveryClosedError} when the deliverer closes first.
   * @throws {QueueStateError} before `start()`.
   */
  async replay(options: ReplayOptions): Promise<ReplayResult> {
    if (this.#starting === undefined) throw new QueueStateError('HttpDeliverer: call start() before replay()', 'new');
    await this.#starting;
    const o = this.#o;
    const park = this.#park;
    const running = runReplay(
      {
        ...(this.#runParts as RunParts),
        log: o.log,
        cursors: this.#cursors,
        itemOptions: this.#itemOptions,
        closing: this.#closing.signal,
        runs: this.#replayRuns,
        keyParked: park === undefined ? undefined : (key, signal) => park.keys.whenLeft(key, signal),
      },
      options,
    );
    this.#replays.add(running);
    try {
      return await running;
    } finally {
      this.#replays.delete(running);
    }
  }

  /** Where delivery stands. */
  stats(): HttpDelivererStats {
    const log = this.#o.log;
    const live = this.#live;
    const cursor = this.#cursor?.position ?? 0;
    const nextSeq = log.nextSeq;
    return {
      cursor,
      nextSeq,
      backlog: live === undefined ? Math.max(0, nextSeq - cursor) : Math.max(0, nextSeq - live.next) + live.unfinished,
      unfinished: live?.unfinished ?? 0,
      delivered: this.#delivered,
      deadLettered: this.#deadLettered,
      retried: this.#retried,
      endpoints: this.#engine?.endpoints() ?? [],
      deadLetters: this.#deadLetters?.count ?? 0,
      parked: this.#park?.parked ?? 0,
      parkedBacklog: this.#park?.backlog ?? 0,
      readAhead: (live === undefined ? 0 : live.next - cursor) + (this.#park?.readAhead ?? 0),
      state: stateOf(this.#closing.signal.aborted, live, this.#park?.run, this.#engine?.closed === true),
    };
  }

  /**
   * Stops reading (and the replays), waits up to `timeoutMs` for the attempts in flight, park appends and
   * dead letters under way (not for records waiting for a retry or an open circuit: on a shared engine they
   * are taken back from it), commits the live cursor to the lowest unfinished record, and closes the own
   * engine (what is still unfinished then is sent again by the next start) and its dead letters. Never closes
   * the log or a shared engine. Idempotent.
   * @param options.timeoutMs @default 5000
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    try {
      this.#closed ??= this.#close(duration('timeoutMs', options?.timeoutMs ?? 5_000));
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#closed;
  }

  async #close(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    const left = (): number => Math.max(0, deadline - performance.now());
    this.#closing.abort();
    await this.#starting?.catch(() => undefined);
    clearInterval(this.#followTimer);
    const live = this.#live;
    const parked = this.#park?.run;
    // The replays stopped on the abort above; what they handed to the engine is settled like the live run's.
    const runs = [live, parked, ...this.#replayRuns];
    for (const run of runs) run?.stop();
    // Attempts in flight may finish; records waiting for a retry would only hold close to its deadline.
    const drained = Promise.all(runs.map((run) => run?.drained()));
    const quiet = Promise.all([this.#engine?.idle(), ...runs.map((run) => run?.outsideDone())]);
    if (this.#ownEngine) await settledWithin(Promise.race([drained, quiet]), left());
    else await settleOnShared(runs, this.#engine as DeliveryEngine, drained, left);
    if (this.#ownEngine) await (this.#engine as DeliveryEngine).close({ timeoutMs: left() });
    await settledWithin(Promise.allSettled([...this.#replays]), left());
    if (live !== undefined) {
      try {
        await live.commitNow();
        await this.#cursors.follow((this.#cursor as Cursor).position);
        await parked?.commitNow();
      } catch (err) {
        this.#error(err, 'http: the last commit of the cursor failed; a restart re-sends a little more');
      }
    }
    await this.#release();
  }

  /** Detaches from the engine, and closes the own engine and dead letters. */
  async #release(): Promise<void> {
    this.#detach?.();
    this.#detach = undefined;
    await this.#park?.log.close().catch((err: unknown) => this.#error(err, 'http: closing the park log failed'));
    if (this.#ownEngine) {
      await this.#engine?.close({ timeoutMs: 0 });
      await this.#deadLetters?.close();
    }
  }

  /** {@link HttpDeliverer.close} with its defaults, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  readonly #handing = (item: DeliveryItem): void => {
    this.#mine.add(item);
  };

  readonly #finished = (_item: DeliveryItem, result: DeliveryResult): void => {
    if (result.outcome === 'delivered') this.#delivered++;
    else this.#deadLettered++;
  };

  /** An item the engine refused as invalid goes to the dead letters as `rejected`, with the reason. */
  readonly #refuse = async (item: DeliveryItem, error: InvalidItemError): Promise<DeliveryResult> => {
    const result = {
      outcome: 'dead-lettered' as const,
      attempts: 0,
      reason: 'rejected' as const,
      cause: `invalid item: ${error.message}`,
    };
    await this.deadLetters.add(item, result);
    this.emit('dead-letter', item, result);
    return result;
  };

  readonly #error = (error: unknown, message: string): void => {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else this.#o.logger.error({ err: error }, message);
  };

  /** Passes the engine's events on: those about this deliverer's items, endpoint changes, the own engine's errors. */
  #attach(engine: DeliveryEngine): void {
    const delivered = (item: DeliveryItem, result: DeliveryResult): void => {
      if (this.#mine.has(item)) this.emit('delivered', item, result);
    };
    const retry = (item: DeliveryItem, info: RetryInfo): void => {
      if (!this.#mine.has(item)) return;
      this.#retried++;
      this.emit('retry', item, info);
    };
    const deadLetter = (item: DeliveryItem, result: DeliveryResult): void => {
      if (this.#mine.has(item)) this.emit('dead-letter', item, result);
    };
    const endpoint = (state: EndpointState): void => void this.emit('endpoint', state);
    // The engine logs its errors itself; they are passed on only to listeners.
    const error = (err: Error): void => {
      if (this.listenerCount('error') > 0) this.emit('error', err);
    };
    engine.on('delivered', delivered);
    engine.on('retry', retry);
    engine.on('dead-letter', deadLetter);
    engine.on('endpoint', endpoint);
    if (this.#ownEngine) engine.on('error', error);
    this.#detach = () => {
      engine.off('delivered', delivered);
      engine.off('retry', retry);
      engine.off('dead-letter', deadLetter);
      engine.off('endpoint', endpoint);
      engine.off('error', error);
    };
  }
}

/** {@link HttpDelivererStats.state} from the deliverer's parts. */
function stateOf(
  closed: boolean,
  live: DeliveryRun | undefined,
  parked: DeliveryRun | undefined,
  engineClosed: boolean,
): HttpDelivererStats['state'] {
  if (closed) return 'closed';
  if (live === undefined) return 'idle';
  return live.stopped || parked?.stopped === true || engineClosed ? 'stopped' : 'running';
}
