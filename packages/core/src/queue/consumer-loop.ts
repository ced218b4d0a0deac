import { type Channel, CLOSED, EMPTY } from '../channel/channel.js';
import { InvalidOptionError } from '../support/errors.js';
import type { LatencyHistogram } from '../support/latency-histogram.js';
import type { Attempts } from './attempt.js';
import type { Broadcasts } from './broadcast.js';
import type { Consumer, ConsumerFactory } from './consumer.js';
import { type Closer, make } from './factory.js';
import { NO_ERROR, nextTurn, YIELD_AFTER_MS, YIELD_CHECK_MASK } from './handler-call.js';
import type { KeyScheduler } from './key-scheduler.js';
import type { ResolvedQueueOptions } from './options.js';
import type { Reporter } from './reporter.js';
import type { Settlement } from './settlement.js';
import { type ConsumerSlot, consumerSlot, type ProducerSlot } from './slots.js';
import type { StopSignals } from './stop-signals.js';

/** What the consumer loops share with their queue. */
export interface ConsumerLoopsContext<T> {
  readonly options: ResolvedQueueOptions<T>;
  readonly factory: ConsumerFactory<T>;
  readonly channel: Channel<T, ProducerSlot<T>>;
  readonly signals: StopSignals;
  readonly settlement: Settlement<T>;
  readonly attempts: Attempts<T>;
  readonly keys: KeyScheduler<T> | undefined;
  readonly broadcasts: Broadcasts<T>;
  readonly latency: LatencyHistogram;
  readonly report: Reporter<T>;
  readonly closer: Closer;
}

/** Handler calls shorter than this are timed one in {@link FAST_SAMPLE_MASK} + 1; longer ones every time. */
const SLOW_HANDLER_MS = 0.05;
const FAST_SAMPLE_MASK = 15;

/**
 * go-zero's consumer side: M loops, each taking messages (one, a batch, or a run of one key) out of
 * the channel and through one handler call each, delivering broadcasts between them. The one-message
 * path is written out in {@link ConsumerLoops.#consume} because it runs for every message.
 */
export class ConsumerLoops<T> {
  readonly slots = new Set<ConsumerSlot<T>>();
  /** Every consumer the factory made, for close() at the end. */
  readonly made: Consumer<T>[] = [];
  /** Set at the stop deadline: loops end, whatever they held was nacked. */
  hardStopped = false;
  readonly #c: ConsumerLoopsContext<T>;
  readonly #isHardStopped = (): boolean => this.hardStopped;
  #nextId = 1;
  #timingTick = 0;
  #timingMask = 0;
  /** The loops share one clock for yielding: when one yields, the others soon follow. */
  #turns = 0;
  #lastYield = 0;

  constructor(context: ConsumerLoopsContext<T>) {
    this.#c = context;
  }

  /** Consumer loops that have a consumer. */
  get live(): number {
    let n = 0;
    for (const s of this.slots) if (s.consumer !== undefined) n++;
    return n;
  }

  /** One consumer loop. Its slot exists before its consumer does, so broadcasts made meanwhile reach it. */
  async run(): Promise<void> {
    const { channel, signals, report } = this.#c;
    const stop = new AbortController();
    if (signals.hard.signal.aborted) stop.abort(signals.hard.signal.reason);
    const slot = consumerSlot<T>(this.#nextId++, stop);
    this.slots.add(slot);
    try {
      let wake: AbortSignal | undefined;
      // A consumer is still worth making after close while there is something left to drain.
      const consumer = await make(
        this.#c.factory,
        {
          stage: 'consumer-factory',
          giveUp: () => this.hardStopped || (channel.closed && channel.pending === 0),
          wakeSignal: () =>
            channel.closed ? stop.signal : (wake ??= AbortSignal.any([stop.signal, signals.closing.signal])),
          inUse: (made) => this.made.includes(made as Consumer<T>),
          backoff: this.#c.options.factoryBackoff,
          closer: this.#c.closer,
        },
        report,
      );
      if (consumer === undefined) return;
      if (typeof consumer.consume !== 'function') {
        report.error(
          new InvalidOptionError('consumerFactory', consumer, 'a function returning a Consumer'),
          'consumer-factory',
        );
        return;
      }
      slot.consumer = consumer;
      this.made.push(consumer);
      slot.batchMode = typeof consumer.consumeBatch === 'function';
      await this.#consume(slot);
    } finally {
      this.slots.delete(slot);
      for (let b = slot.inbox.shift(); b !== undefined; b = slot.inbox.shift()) this.#c.broadcasts.done(b, false);
    }
  }

  /** The stop deadline: aborts every handler's signal and nacks what each loop holds. */
  abandon(nack: (origin: ProducerSlot<T>, message: T) => void): void {
    this.hardStopped = true;
    const { settlement, keys } = this.#c;
    for (const slot of this.slots) {
      const run = slot.run;
      if (run !== undefined) {
        slot.abandoned = true;
        slot.run = undefined;
        for (let i = slot.runNext; i < run.length; i++) {
          if (keys !== undefined) keys.parked--;
          nack(slot.runOrigin as ProducerSlot<T>, run[i] as T);
        }
      }
      const current = slot.current;
      if (current !== undefined) {
        slot.abandoned = true;
        slot.current = undefined;
        const origin = slot.currentOrigin as ProducerSlot<T>;
        if (slot.currentIsBatch) {
          const batch = current as readonly T[];
          settlement.inFlight -= batch.length;
          for (const m of batch) nack(origin, m);
        } else {
          settlement.inFlight--;
          nack(origin, current as T);
        }
      }
    }
  }

  /** After {@link ConsumerLoops.abandon}: fires every handler's signal and wakes every loop. */
  wakeAll(reason: unknown): void {
    for (const slot of this.slots) {
      slot.stop.abort(reason);
      slot.attempt?.abort(reason);
      slot.waker.wake();
    }
  }

  async #consume(slot: ConsumerSlot<T>): Promise<void> {
    const { channel, keys, attempts } = this.#c;
    const { batchSize } = this.#c.options;
    for (;;) {
      if (slot.inbox.length !== 0) await this.#c.broadcasts.deliver(slot, this.#isHardStopped);
      if (this.#mustYield()) await this.#yield();
      if (this.hardStopped) return;
      if (keys !== undefined) {
        if (keys.full) {
          await keys.wait(slot.waker);
          continue;
        }
        if (slot.batchMode) {
          const batch = channel.tryReceiveBatch(batchSize);
          if (batch === EMPTY) {
            await channel.waitReadable(slot.waker);
            continue;
          }
          if (batch === CLOSED) return;
          if (!(await this.#runKeyBatches(slot, keys, batch, channel.origin as ProducerSlot<T>))) return;
          continue;
        }
        const run = channel.tryReceiveRun(keys.keyOf, batchSize);
        if (run === EMPTY) {
          await channel.waitReadable(slot.waker);
          continue;
        }
        if (run === CLOSED) return;
        await keys.run(slot, run, channel.runKey, channel.origin as ProducerSlot<T>, this.#workThrough);
        if (slot.abandoned) return;
        continue;
      }
      let payload: T | readonly T[];
      const isBatch = slot.batchMode;
      if (isBatch) {
        const batch = channel.tryReceiveBatch(batchSize);
        if (batch === EMPTY) {
          await channel.waitReadable(slot.waker);
          continue;
        }
        if (batch === CLOSED) return;
        payload = batch;
      } else {
        const message = channel.tryReceive();
        if (message === EMPTY) {
          await channel.waitReadable(slot.waker);
          continue;
        }
        if (message === CLOSED) return;
        payload = message;
      }
      // One handler call, written out: this runs for every message or batch.
      const origin = channel.origin as ProducerSlot<T>;
      const timed = this.#enter(slot, payload, isBatch, origin);
      const started = timed ? performance.now() : 0;
      let error: unknown = NO_ERROR;
      try {
        const pending = attempts.call(slot, payload, isBatch, 1);
        if (pending !== undefined) await pending;
      } catch (e) {
        error = e;
      }
      const recovering = this.#afterFirstCall(slot, payload, isBatch, origin, error, started, timed);
      if (recovering !== undefined) await recovering;
      if (slot.abandoned) return;
    }
  }

  /**
   * Works through a run held by `slot`, one message at a time (attempts, retries, dead letter,
   * settlement), with the steps of a handler call written out as in {@link ConsumerLoops.#consume}.
   * Returns false if the stop deadline took the rest.
   */
  readonly #workThrough = async (
    slot: ConsumerSlot<T>,
    messages: readonly T[],
    from: ProducerSlot<T>,
  ): Promise<boolean> => {
    const keys = this.#c.keys as KeyScheduler<T>;
    const attempts = this.#c.attempts;
    slot.run = messages;
    slot.runOrigin = from;
    for (let i = 0; i < messages.length; i++) {
      slot.runNext = i + 1;
      keys.parked--;
      const message = messages[i] as T;
      const timed = this.#enter(slot, message, false, from);
      const started = timed ? performance.now() : 0;
      let error: unknown = NO_ERROR;
      try {
        const pending = attempts.call(slot, message, false, 1);
        if (pending !== undefined) await pending;
      } catch (e) {
        error = e;
      }
      const recovering = this.#afterFirstCall(slot, message, false, from, error, started, timed);
      if (recovering !== undefined) await recovering;
      // A busy key's holder may stay in here for long: broadcasts still reach it between messages.
      if (slot.inbox.length !== 0) await this.#c.broadcasts.deliver(slot, this.#isHardStopped);
      if (this.#mustYield()) await this.#yield();
      if (slot.abandoned) return false;
    }
    slot.run = undefined;
    return true;
  };

  /**
   * Keyed `consumeBatch`: runs the part of `batch` whose keys are free in one call, then what parked
   * behind those keys meanwhile, until the keys are let go. Returns false if the stop deadline took over.
   */
  async #runKeyBatches(
    slot: ConsumerSlot<T>,
    keys: KeyScheduler<T>,
    batch: readonly T[],
    origin: ProducerSlot<T>,
  ): Promise<boolean> {
    let messages = keys.take(slot, batch, origin);
    let from = origin;
    for (;;) {
      // Empty when all of it parked behind other holders: this slot still asks for its backlog, which lets
      // its hold go, or a stale hold token could later park a free key behind a consumer that waits for nothing.
      if (messages.length !== 0) {
        const timed = this.#enter(slot, messages, true, from);
        const started = timed ? performance.now() : 0;
        let error: unknown = NO_ERROR;
        try {
          const pending = this.#c.attempts.call(slot, messages, true, 1);
          if (pending !== undefined) await pending;
        } catch (e) {
          error = e;
        }
        const recovering = this.#afterFirstCall(slot, messages, true, from, error, started, timed);
        if (recovering !== undefined) await recovering;
        if (slot.abandoned) return false;
        if (slot.inbox.length !== 0) await this.#c.broadcasts.deliver(slot, this.#isHardStopped);
      }
      const next = keys.next(slot, this.#c.options.batchSize);
      if (next === undefined) return true;
      messages = next.run;
      from = next.origin;
    }
  }

  /** Marks `payload` as held by `slot`; returns whether this call should be timed. */
  #enter(slot: ConsumerSlot<T>, payload: T | readonly T[], isBatch: boolean, origin: ProducerSlot<T>): boolean {
    this.#c.settlement.inFlight += isBatch ? (payload as readonly T[]).length : 1;
    slot.current = payload;
    slot.currentIsBatch = isBatch;
    slot.currentOrigin = origin;
    return (++this.#timingTick & this.#timingMask) === 0;
  }

  /** Books the first attempt: settles on success, or returns the retry and dead-letter path's promise. */
  #afterFirstCall(
    slot: ConsumerSlot<T>,
    payload: T | readonly T[],
    isBatch: boolean,
    origin: ProducerSlot<T>,
    error: unknown,
    started: number,
    timed: boolean,
  ): Promise<void> | undefined {
    if (slot.abandoned) return undefined;
    if (timed) {
      const elapsed = performance.now() - started;
      this.#c.latency.record(elapsed);
      // Reading the clock costs about as much as a no-op handler: sample fast handlers, time slow ones.
      this.#timingMask = elapsed < SLOW_HANDLER_MS ? FAST_SAMPLE_MASK : 0;
    }
    if (error !== NO_ERROR) return this.#c.attempts.recover(slot, payload, isBatch, origin, error);
    if (isBatch) this.#c.settlement.consumedMany(slot, origin, payload as readonly T[]);
    else this.#c.settlement.consumedOne(slot, origin, payload as T);
    return undefined;
  }

  #mustYield(): boolean {
    return (++this.#turns & YIELD_CHECK_MASK) === 0 && performance.now() - this.#lastYield >= YIELD_AFTER_MS;
  }

  async #yield(): Promise<void> {
    await nextTurn();
    this.#lastYield = performance.now();
  }
}
