import { EventEmitter } from 'eventemitter3';
import { Channel, CLOSED, EMPTY } from '../channel/channel.js';
import { Deque } from '../channel/deque.js';
import { Waker } from '../channel/waker.js';
import type { Pusher } from '../pushers/pusher.js';
import { backoffDelay, sleep } from '../support/backoff.js';
import { InvalidOptionError, QueueStateError } from '../support/errors.js';
import { LatencyHistogram } from '../support/latency-histogram.js';
import { duration, integerAtLeast, nonEmptyString, object } from '../support/validate.js';
import type { Consumer, ConsumerFactory } from './consumer.js';
import type { QueueErrorInfo, QueueEvents, StopOptions } from './events.js';
import { isThenable, nextTurn, withTimeout } from './handler-call.js';
import type { Listener } from './listener.js';
import { MAX_LOOPS, type QueueOptions, type ResolvedQueueOptions, resolveQueueOptions } from './options.js';
import { CONSUMED, isSettleable, NACK_STOP_TIMEOUT, NACK_STOPPED, type Outcome } from './outcome.js';
import type { ProduceListener, Producer, ProducerFactory } from './producer.js';
import type { Broadcast, ConsumerSlot, Parked, ProducerSlot } from './slots.js';
import type { QueueState, QueueStats } from './stats.js';

const NO_ERROR: unique symbol = Symbol('q.no-error');
/** Handler calls shorter than this are timed one in {@link FAST_SAMPLE_MASK} + 1; longer ones every time. */
const SLOW_HANDLER_MS = 0.05;
const FAST_SAMPLE_MASK = 15;
/**
 * A producer loop whose source and channel never make it wait, or a consumer loop with synchronous
 * handlers and a backlog, would run on microtasks forever and starve timers and I/O (heartbeats,
 * socket reads, the stop deadline), so it yields to the macrotask queue once the queue has run this
 * long. An event-loop turn costs as much as moving thousands of messages, so it is done by time, not
 * by count; the clock is read every {@link YIELD_CHECK_MASK} + 1 turns.
 */
const YIELD_AFTER_MS = 5;
const YIELD_CHECK_MASK = 63;

/**
 * go-zero's `core/queue`: N producer loops pull messages from a source into a bounded channel, M
 * consumer loops take them out and hand them to handlers.
 *
 * ```ts
 * const queue = new Queue(() => myProducer, () => ({ consume: async (m) => save(m) }), { capacity: 1024 });
 * const done = queue.start();   // resolves after stop() and a full drain
 * // ...
 * await queue.stop();
 * ```
 *
 * Beyond go-zero: a buffered channel that moves batches, settlement (every message's fate is told
 * to its producer), handler timeouts, retries with back-off, dead letter, ordering by key, a stop
 * that always ends within its deadline and nacks what it could not drain, and stats.
 *
 * @typeParam T the message type (go-zero: `string`).
 */
export class Queue<T = string> extends EventEmitter<QueueEvents<T>> {
  readonly #producerFactory: ProducerFactory<T>;
  readonly #consumerFactory: ConsumerFactory<T>;
  readonly #options: ResolvedQueueOptions<T>;
  readonly #listeners: Listener[] = [];

  #state: QueueState = 'idle';
  #channel: Channel<T, ProducerSlot<T>> | undefined;
  #done: Promise<void> | undefined;

  readonly #softStop = new AbortController();
  readonly #hardStop = new AbortController();
  #hardStopped = false;
  #stopTimer: NodeJS.Timeout | undefined;
  #stopDeadline = Number.POSITIVE_INFINITY;
  /** Aborted when the channel closes: producers are gone, consumers only drain from then on. */
  readonly #closing = new AbortController();
  readonly #channelClosedPromise = new Promise<void>((resolve) => {
    this.#closing.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  #hardStopPromise!: Promise<void>;

  readonly #producerSlots: ProducerSlot<T>[] = [];
  readonly #consumerSlots = new Set<ConsumerSlot<T>>();
  /** Every consumer the factory made, for close() at the end. */
  readonly #consumersMade: Consumer<T>[] = [];
  #activeProducers = 0;
  #paused = false;
  /** Producer loops holding messages they have not fully handed to the channel. */
  #holding = 0;

  readonly #earlyBroadcasts: Broadcast[] = [];
  readonly #openBroadcasts = new Set<Broadcast>();

  readonly #keys = new Map<unknown, Deque<Parked<T>> | null>();
  /** Messages taken by keyed consumers and not started yet: parked runs and the rest of held runs. */
  #parked = 0;
  /** Runs waiting in key backlogs: what the park limit counts. */
  #parkedRuns = 0;
  /** The last message whose `keyOf` threw, so a run boundary asking again does not report it twice. */
  #keyFailed: unknown = NO_ERROR;
  readonly #parkWaiters = new Deque<Waker>();

  #produced = 0;
  #consumed = 0;
  #failed = 0;
  #retries = 0;
  #deadLettered = 0;
  #nacked = 0;
  #inFlight = 0;
  readonly #latency = new LatencyHistogram();
  #timingTick = 0;
  #timingMask = 0;
  /** Consumer loops share one clock for yielding: when one yields, the others soon follow. */
  #consumerTurns = 0;
  #lastConsumerYield = 0;

  /**
   * @param producerFactory makes one producer per producer loop (go-zero's `ProducerFactory`).
   * @param consumerFactory makes one consumer per consumer loop (go-zero's `ConsumerFactory`).
   * @param options see {@link QueueOptions}; every option is validated here.
   * @throws {InvalidOptionError} when a factory is not a function or an option is out of range.
   */
  constructor(producerFactory: ProducerFactory<T>, consumerFactory: ConsumerFactory<T>, options?: QueueOptions<T>) {
    super();
    if (typeof producerFactory !== 'function') {
      throw new InvalidOptionError('producerFactory', producerFactory, 'a function returning a Producer');
    }
    if (typeof consumerFactory !== 'function') {
      throw new InvalidOptionError('consumerFactory', consumerFactory, 'a function returning a Consumer');
    }
    this.#producerFactory = producerFactory;
    this.#consumerFactory = consumerFactory;
    this.#options = resolveQueueOptions<T>(options);
    const deadLetter = this.#options.deadLetter;
    if (deadLetter !== undefined && deadLetter.pushAndConfirm === undefined) {
      this.#options.logger.warn('the dead-letter pusher cannot confirm: a message may be lost after its push', {
        queue: this.#options.name,
        pusher: deadLetter.name(),
      });
    }
    this.#hardStopPromise = new Promise<void>((resolve) => {
      this.#hardStop.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  /** The queue's name. */
  get name(): string {
    return this.#options.name;
  }

  /** The lifecycle state. */
  get state(): QueueState {
    return this.#state;
  }

  /** go-zero's `SetName`. Only before `start()`. */
  setName(name: string): this {
    this.#beforeStart('setName');
    this.#options.name = nonEmptyString('name', name);
    return this;
  }

  /** go-zero's `SetNumProducer`: an integer from 1 to 10000. Only before `start()`. */
  setNumProducer(count: number): this {
    this.#beforeStart('setNumProducer');
    this.#options.producers = integerAtLeast('producers', count, 1, MAX_LOOPS);
    return this;
  }

  /** go-zero's `SetNumConsumer`: an integer from 1 to 10000. Only before `start()`. */
  setNumConsumer(count: number): this {
    this.#beforeStart('setNumConsumer');
    this.#options.consumers = integerAtLeast('consumers', count, 1, MAX_LOOPS);
    return this;
  }

  /**
   * go-zero's `AddListener`: `onPause` runs when the last active producer paused, `onResume` when the
   * first one is back, synchronously and in registration order. Called with an event name, this is
   * `eventemitter3`'s `addListener` (the same as `on`).
   */
  override addListener(listener: Listener): this;
  override addListener<E extends EventEmitter.EventNames<QueueEvents<T>>>(
    event: E,
    fn: EventEmitter.EventListener<QueueEvents<T>, E>,
    context?: unknown,
  ): this;
  override addListener(
    eventOrListener: Listener | EventEmitter.EventNames<QueueEvents<T>>,
    fn?: (...args: never[]) => void,
    context?: unknown,
  ): this {
    if (typeof eventOrListener === 'object' && eventOrListener !== null) {
      const l = eventOrListener as Listener;
      if (typeof l.onPause !== 'function' || typeof l.onResume !== 'function') {
        throw new InvalidOptionError('listener', l, 'an object with onPause() and onResume()');
      }
      this.#listeners.push(l);
      return this;
    }
    return super.addListener(
      eventOrListener as EventEmitter.EventNames<QueueEvents<T>>,
      fn as EventEmitter.EventListener<QueueEvents<T>, EventEmitter.EventNames<QueueEvents<T>>>,
      context,
    );
  }

  /**
   * Starts the producer and consumer loops. The returned promise resolves once `stop()` was called
   * and everything was drained (or nacked at the stop deadline); it never rejects for failures of user
   * code, which go to the `error` event. Calling `start()` after `stop()` resolves at once.
   *
   * @throws {QueueStateError} synchronously, when called a second time.
   */
  start(): Promise<void> {
    if (this.#done !== undefined) throw new QueueStateError('start() was already called', this.#state);
    if (this.#state === 'stopped') {
      this.#done = Promise.resolve();
      return this.#done;
    }
    this.#state = 'running';
    this.#channel = new Channel<T, ProducerSlot<T>>(this.#options.capacity);
    const signal = this.#options.signal;
    if (signal !== undefined) {
      if (signal.aborted) void this.stop();
      else signal.addEventListener('abort', () => void this.stop(), { once: true, signal: this.#hardStop.signal });
    }
    this.#done = this.#run();
    return this.#done;
  }

  /**
   * Stops the queue: producers are aborted (their `produce` signal fires) and no longer called, the
   * channel closes once they let go of what they hold, consumers drain everything already pulled.
   * What is still unconsumed after `timeoutMs` is nacked back to its producer. Resolves when the queue
   * has stopped; calling it again returns the same promise (a shorter `timeoutMs` still applies).
   * Before `start()`, it marks the queue stopped and resolves at once.
   *
   * @throws {InvalidOptionError} when `timeoutMs` is negative or not a number.
   */
  stop(options: StopOptions = {}): Promise<void> {
    const timeoutMs = duration(
      'timeoutMs',
      object('options', options).timeoutMs ?? this.#options.stopTimeoutMs,
      0,
      true,
    );
    if (this.#done === undefined) {
      this.#state = 'stopped';
      this.#softStop.abort();
      this.#hardStop.abort();
      return Promise.resolve();
    }
    const deadline = performance.now() + timeoutMs;
    if (this.#state === 'running') {
      this.#state = 'stopping';
      this.#softStop.abort();
      this.#maybeCloseChannel();
    }
    if (this.#state === 'stopping' && deadline < this.#stopDeadline) {
      this.#stopDeadline = deadline;
      clearTimeout(this.#stopTimer);
      if (Number.isFinite(timeoutMs)) {
        this.#stopTimer = setTimeout(() => this.#abandon(), timeoutMs);
      }
    }
    return this.#done;
  }

  /** Stops with the default timeout; for `await using queue = ...`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /**
   * go-zero's `Broadcast`: delivers `event` to every live consumer's `onEvent`, exactly once each, in
   * the same order for all consumers, between their messages. It does not wait for the consumers: the
   * returned promise (which callers may ignore) resolves with the number of consumers that received
   * it. Events broadcast before `start()` reach every consumer when it comes up; after the queue has
   * stopped, the promise resolves with 0 at once.
   */
  broadcast(event: unknown): Promise<number> {
    if (this.#state === 'stopped') return Promise.resolve(0);
    return new Promise<number>((resolve) => {
      const b: Broadcast = { event, remaining: 0, delivered: 0, resolve };
      if (this.#state === 'idle') this.#earlyBroadcasts.push(b);
      else this.#dispatch(b);
    });
  }

  #dispatch(b: Broadcast): void {
    for (const slot of this.#consumerSlots) {
      b.remaining++;
      slot.inbox.push(b);
      slot.waker.wake();
    }
    if (b.remaining === 0) b.resolve(0);
    else this.#openBroadcasts.add(b);
  }

  /** Current counters, in-flight counts and handler latency percentiles. */
  stats(): QueueStats {
    return {
      name: this.#options.name,
      state: this.#state,
      paused: this.#paused,
      producers: this.#producerSlots.filter((s) => !s.ended).length,
      consumers: [...this.#consumerSlots].filter((s) => s.consumer !== undefined).length,
      produced: this.#produced,
      consumed: this.#consumed,
      failed: this.#failed,
      retries: this.#retries,
      deadLettered: this.#deadLettered,
      nacked: this.#nacked,
      inFlight: this.#inFlight,
      buffered: this.#channel?.pending ?? 0,
      parked: this.#parked,
      latency: this.#latency.summary(),
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Lifecycle

  async #run(): Promise<void> {
    const { producers, consumers } = this.#options;
    const consumerLoops: Promise<void>[] = [];
    for (let i = 0; i < consumers; i++) consumerLoops.push(this.#runConsumer());
    // Every consumer loop has its slot by now (they register before their first await).
    for (const b of this.#earlyBroadcasts.splice(0)) this.#dispatch(b);
    const producerLoops: Promise<void>[] = [];
    for (let i = 0; i < producers; i++) producerLoops.push(this.#runProducer());
    const statsTimer = this.#startStats();

    await this.#channelClosedPromise;
    await Promise.race([Promise.all(consumerLoops), this.#hardStopPromise]);
    // Producers stuck in a produce() that ignores its signal are waited for until the deadline only.
    await Promise.race([Promise.all(producerLoops), this.#hardStopPromise]);

    clearTimeout(this.#stopTimer);
    if (statsTimer !== undefined) clearInterval(statsTimer);
    await this.#closeAll();
    for (const b of this.#openBroadcasts) b.resolve(b.delivered);
    this.#openBroadcasts.clear();
    this.#state = 'stopped';
    // Releases the `signal` listener and anything else tied to the run.
    if (!this.#hardStop.signal.aborted) this.#hardStop.abort();
  }

  /** Stop deadline: hand back everything not yet consumed and let `start()` resolve. */
  #abandon(): void {
    if (this.#hardStopped) return;
    this.#hardStopped = true;
    const channel = this.#channel as Channel<T, ProducerSlot<T>>;
    for (const { origin, messages } of channel.reclaim()) {
      for (const m of messages) this.#nack(origin, m, NACK_STOP_TIMEOUT);
    }
    channel.close();
    this.#closing.abort();
    for (const slot of this.#consumerSlots) {
      const run = slot.run;
      if (run !== undefined) {
        slot.abandoned = true;
        slot.run = undefined;
        for (let i = slot.runNext; i < run.length; i++) {
          this.#parked--;
          this.#nack(slot.runOrigin as ProducerSlot<T>, run[i] as T, NACK_STOP_TIMEOUT);
        }
      }
      const current = slot.current;
      if (current === undefined) continue;
      slot.abandoned = true;
      slot.current = undefined;
      const origin = slot.currentOrigin as ProducerSlot<T>;
      if (slot.currentIsBatch) {
        const batch = current as readonly T[];
        this.#inFlight -= batch.length;
        for (const m of batch) this.#nack(origin, m, NACK_STOP_TIMEOUT);
      } else {
        this.#inFlight--;
        this.#nack(origin, current as T, NACK_STOP_TIMEOUT);
      }
    }
    for (const backlog of this.#keys.values()) {
      if (backlog === null) continue;
      for (let p = backlog.shift(); p !== undefined; p = backlog.shift()) {
        this.#parkedRuns--;
        for (const m of p.run) {
          this.#parked--;
          this.#nack(p.origin, m, NACK_STOP_TIMEOUT);
        }
      }
    }
    this.#hardStop.abort();
    for (const slot of this.#consumerSlots) slot.waker.wake();
    for (let w = this.#parkWaiters.shift(); w !== undefined; w = this.#parkWaiters.shift()) w.wake();
  }

  #maybeCloseChannel(): void {
    const channel = this.#channel;
    if (this.#state === 'stopping' && this.#holding === 0 && channel !== undefined && !channel.closed) {
      channel.close();
      this.#closing.abort();
    }
  }

  async #closeAll(): Promise<void> {
    const closes: Promise<void>[] = [];
    const close = (target: { close?(): void | Promise<void> }): void => {
      if (typeof target.close !== 'function') return;
      closes.push(
        (async () => {
          try {
            await target.close?.();
          } catch (error) {
            this.#emitError(error, { queue: this.#options.name, stage: 'close' });
          }
        })(),
      );
    };
    for (const p of new Set(this.#producerSlots.map((s) => s.producer))) close(p);
    for (const c of new Set(this.#consumersMade)) close(c);
    if (closes.length === 0) return;
    const remaining = this.#stopDeadline - performance.now();
    if (this.#hardStopped || remaining <= 0) {
      // Past the deadline nobody waits for close(); failures are still reported.
      return;
    }
    const giveUp = new AbortController();
    await Promise.race([Promise.all(closes), sleep(remaining, giveUp.signal)]);
    giveUp.abort(); // the deadline's timer must not outlive the queue
  }

  #startStats(): NodeJS.Timeout | undefined {
    const intervalMs = this.#options.statsIntervalMs;
    if (intervalMs === 0) return undefined;
    let lastConsumed = 0;
    let lastLatency = this.#latency.snapshot();
    const timer = setInterval(() => {
      const stats = this.stats();
      const latency = this.#latency.snapshot();
      this.emit('stats', {
        ...stats,
        intervalMs,
        rate: ((stats.consumed - lastConsumed) * 1000) / intervalMs,
        intervalLatency: latency.since(lastLatency).summary(),
      });
      lastConsumed = stats.consumed;
      lastLatency = latency;
    }, intervalMs);
    timer.unref();
    return timer;
  }

  // ---------------------------------------------------------------------------------------------
  // Producers

  async #runProducer(): Promise<void> {
    const signal = this.#softStop.signal;
    const producer = await this.#create(
      this.#producerFactory,
      'producer-factory',
      () => signal.aborted,
      () => signal,
    );
    if (producer === undefined) return;
    if (typeof producer.produce !== 'function') {
      this.#emitError(new InvalidOptionError('producerFactory', producer, 'a function returning a Producer'), {
        queue: this.#options.name,
        stage: 'producer-factory',
      });
      return;
    }
    const slot: ProducerSlot<T> = {
      producer,
      settles: typeof producer.settle === 'function',
      paused: false,
      ended: false,
    };
    this.#producerSlots.push(slot);
    this.#activeProducers++;
    this.#updatePause();
    if (typeof producer.addListener === 'function') {
      try {
        producer.addListener(this.#produceListener(slot));
      } catch (error) {
        this.#emitError(error, { queue: this.#options.name, stage: 'listener' });
      }
    }
    const channel = this.#channel as Channel<T, ProducerSlot<T>>;
    let empties = 0;
    let turns = 0;
    let lastYield = performance.now();
    // `#state` is read instead of `signal.aborted`: the getter costs more than the rest of a turn.
    while (this.#state === 'running') {
      let produced: unknown;
      try {
        produced = producer.produce(signal);
        if (isThenable(produced)) produced = await produced;
      } catch (error) {
        produced = undefined;
        if (!signal.aborted) this.#emitError(error, { queue: this.#options.name, stage: 'produce' });
      }
      const isBatch = Array.isArray(produced);
      if (produced === undefined || produced === null || (isBatch && (produced as T[]).length === 0)) {
        if (signal.aborted) break;
        empties++;
        await (empties === 1 ? nextTurn() : sleep(Math.min(2 ** (empties - 2), this.#options.idleDelayMs), signal));
        continue;
      }
      empties = 0;
      const count = isBatch ? (produced as T[]).length : 1;
      this.#produced += count;
      if (channel.closed) {
        // A produce() that outlived the channel: its messages go straight back.
        if (isBatch) for (const m of produced as T[]) this.#nack(slot, m, NACK_STOPPED);
        else this.#nack(slot, produced as T, NACK_STOPPED);
        break;
      }
      this.#holding++;
      const pending = isBatch ? channel.sendBatch(produced as T[], slot) : channel.send(produced as T, slot);
      if (pending !== undefined) await pending;
      this.#holding--;
      if (this.#state !== 'running') {
        this.#maybeCloseChannel();
        break;
      }
      if ((++turns & YIELD_CHECK_MASK) === 0 && performance.now() - lastYield >= YIELD_AFTER_MS) {
        await nextTurn();
        lastYield = performance.now();
      }
    }
    slot.ended = true;
    if (!slot.paused) this.#activeProducers--;
    this.#maybeCloseChannel();
  }

  #produceListener(slot: ProducerSlot<T>): ProduceListener {
    return {
      onProducerPause: () => {
        if (slot.paused || slot.ended) return;
        slot.paused = true;
        this.#activeProducers--;
        this.#updatePause();
      },
      onProducerResume: () => {
        if (!slot.paused || slot.ended) return;
        slot.paused = false;
        this.#activeProducers++;
        this.#updatePause();
      },
    };
  }

  /** go-zero's aggregate edges: paused when the last active producer paused, resumed when one is back. */
  #updatePause(): void {
    if (this.#state !== 'running') return;
    if (!this.#paused && this.#activeProducers === 0) {
      this.#paused = true;
      this.emit('pause');
      for (const l of this.#listeners) this.#callListener(() => l.onPause());
    } else if (this.#paused && this.#activeProducers > 0) {
      this.#paused = false;
      this.emit('resume');
      for (const l of this.#listeners) this.#callListener(() => l.onResume());
    }
  }

  #callListener(call: () => void): void {
    try {
      call();
    } catch (error) {
      this.#emitError(error, { queue: this.#options.name, stage: 'listener' });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Consumers

  async #runConsumer(): Promise<void> {
    // The slot exists before the consumer does, so broadcasts made while it is being created reach it.
    const slot: ConsumerSlot<T> = {
      consumer: undefined,
      batchMode: false,
      waker: new Waker(),
      inbox: new Deque<Broadcast>(),
      firstContext: Object.freeze({ attempt: 1, signal: this.#hardStop.signal }),
      current: undefined,
      currentIsBatch: false,
      currentOrigin: undefined,
      abandoned: false,
      run: undefined,
      runNext: 0,
      runOrigin: undefined,
    };
    this.#consumerSlots.add(slot);
    try {
      const channel = this.#channel as Channel<T, ProducerSlot<T>>;
      const hard = this.#hardStop.signal;
      let hardOrClosing: AbortSignal | undefined;
      // A consumer is still worth making after close while there is something left to drain.
      const consumer = await this.#create(
        this.#consumerFactory,
        'consumer-factory',
        () => this.#hardStopped || (channel.closed && channel.pending === 0),
        () => (channel.closed ? hard : (hardOrClosing ??= AbortSignal.any([hard, this.#closing.signal]))),
      );
      if (consumer === undefined) return;
      if (typeof consumer.consume !== 'function') {
        this.#emitError(new InvalidOptionError('consumerFactory', consumer, 'a function returning a Consumer'), {
          queue: this.#options.name,
          stage: 'consumer-factory',
        });
        return;
      }
      slot.consumer = consumer;
      this.#consumersMade.push(consumer);
      slot.batchMode = typeof consumer.consumeBatch === 'function' && this.#options.keyOf === undefined;
      await this.#consume(slot);
    } finally {
      this.#consumerSlots.delete(slot);
      for (let b = slot.inbox.shift(); b !== undefined; b = slot.inbox.shift()) this.#broadcastDone(b, false);
    }
  }

  /** The consumer loop. The one-message path is written out here because it runs for every message. */
  async #consume(slot: ConsumerSlot<T>): Promise<void> {
    const channel = this.#channel as Channel<T, ProducerSlot<T>>;
    const { batchSize, keyOf } = this.#options;
    const parkLimit = Math.max(1, this.#options.consumers);
    for (;;) {
      if (slot.inbox.length !== 0) await this.#handleEvents(slot);
      if (this.#consumerMustYield()) await this.#consumerYield();
      if (this.#hardStopped) return;
      if (keyOf !== undefined) {
        if (this.#parkedRuns >= parkLimit) {
          const sleep = slot.waker.arm();
          this.#parkWaiters.push(slot.waker);
          await sleep;
          continue;
        }
        const run = channel.tryReceiveRun(this.#keyOf, batchSize);
        if (run === EMPTY) {
          await channel.waitReadable(slot.waker);
          continue;
        }
        if (run === CLOSED) return;
        await this.#handleRun(slot, run, channel.runKey, channel.origin as ProducerSlot<T>);
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
        const pending = this.#call(slot, payload, isBatch, 1);
        if (pending !== undefined) await pending;
      } catch (e) {
        error = e;
      }
      const recovering = this.#afterFirstCall(slot, payload, isBatch, origin, error, started, timed);
      if (recovering !== undefined) await recovering;
      if (slot.abandoned) return;
    }
  }

  /** Marks `payload` as held by `slot`; returns whether this call should be timed. */
  #enter(slot: ConsumerSlot<T>, payload: T | readonly T[], isBatch: boolean, origin: ProducerSlot<T>): boolean {
    this.#inFlight += isBatch ? (payload as readonly T[]).length : 1;
    slot.current = payload;
    slot.currentIsBatch = isBatch;
    slot.currentOrigin = origin;
    return (++this.#timingTick & this.#timingMask) === 0;
  }

  /**
   * Books the first attempt's result: settles on success, or returns the promise of the retry and
   * dead-letter path on failure.
   */
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
      this.#latency.record(elapsed);
      // Reading the clock costs about as much as a no-op handler: sample fast handlers, time slow ones.
      this.#timingMask = elapsed < SLOW_HANDLER_MS ? FAST_SAMPLE_MASK : 0;
    }
    if (error !== NO_ERROR) return this.#recover(slot, payload, isBatch, origin, error);
    if (isBatch) {
      const batch = payload as readonly T[];
      this.#consumed += batch.length;
      this.#release(slot, batch.length);
      if (origin.settles || typeof batch[0] === 'object') for (const m of batch) this.#settle(origin, m, CONSUMED);
    } else {
      this.#consumed++;
      this.#release(slot, 1);
      if (origin.settles || typeof payload === 'object') this.#settle(origin, payload as T, CONSUMED);
    }
    return undefined;
  }

  /** Calls the handler; returns its promise (with the timeout applied) or `undefined` if it returned synchronously. */
  #call(
    slot: ConsumerSlot<T>,
    payload: T | readonly T[],
    isBatch: boolean,
    attempt: number,
  ): PromiseLike<unknown> | undefined {
    const { timeoutMs } = this.#options;
    let context = slot.firstContext;
    let controller: AbortController | undefined;
    if (timeoutMs > 0) {
      controller = new AbortController();
      context = { attempt, signal: AbortSignal.any([controller.signal, this.#hardStop.signal]) };
    } else if (attempt !== 1) {
      context = { attempt, signal: this.#hardStop.signal };
    }
    const consumer = slot.consumer as Consumer<T>;
    const result = isBatch
      ? (consumer.consumeBatch as NonNullable<Consumer<T>['consumeBatch']>)(payload as readonly T[], context)
      : consumer.consume(payload as T, context);
    if (!isThenable(result)) return undefined;
    return controller === undefined ? result : withTimeout(result, timeoutMs, controller);
  }

  async #recover(
    slot: ConsumerSlot<T>,
    payload: T | readonly T[],
    isBatch: boolean,
    origin: ProducerSlot<T>,
    firstError: unknown,
  ): Promise<void> {
    const messages: readonly T[] = isBatch ? (payload as readonly T[]) : [payload as T];
    const policy = this.#options.retry;
    let error = firstError;
    let attempt = 1;
    for (;;) {
      this.#emitError(error, { queue: this.#options.name, stage: 'consume', messages, attempt });
      if (attempt >= policy.attempts || this.#hardStopped) break;
      this.#retries++;
      await sleep(backoffDelay(policy, attempt), this.#hardStop.signal);
      if (slot.abandoned) return;
      attempt++;
      const started = performance.now();
      error = NO_ERROR;
      try {
        const pending = this.#call(slot, payload, isBatch, attempt);
        if (pending !== undefined) await pending;
      } catch (e) {
        error = e;
      }
      if (slot.abandoned) return;
      this.#latency.record(performance.now() - started);
      if (error === NO_ERROR) {
        this.#consumed += messages.length;
        this.#release(slot, messages.length);
        for (const m of messages) this.#settle(origin, m, CONSUMED);
        return;
      }
    }
    if (this.#options.deadLetter === undefined) {
      for (const m of messages) {
        this.#failed++;
        this.#settle(origin, m, { type: 'failed', error, attempts: attempt });
      }
      this.#release(slot, messages.length);
      return;
    }
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i] as T;
      await this.#deadLetter(slot, m, error, attempt);
      // The stop deadline nacked this message and the rest; a late push result is ignored.
      if (slot.abandoned) return;
      // From here on a stop deadline must not nack `m` again: only the rest stays in its hands.
      this.#inFlight--;
      slot.current = i + 1 < messages.length ? messages.slice(i + 1) : undefined;
      slot.currentIsBatch = true;
      this.#deadLettered++;
      this.#settle(origin, m, { type: 'dead-lettered', error, attempts: attempt });
      this.#callListener(() => this.emit('dead-letter', m, error, attempt));
    }
    this.#release(slot, 0);
  }

  /**
   * Pushes `m` to the dead letter, confirmed when the pusher can confirm, until it succeeds or the
   * stop deadline abandons the slot: a message leaves its source only once its destination has it.
   */
  async #deadLetter(slot: ConsumerSlot<T>, m: T, cause: unknown, attempts: number): Promise<void> {
    const pusher = this.#options.deadLetter as Pusher<T>;
    const info = { cause, attempts };
    for (let failures = 1; ; failures++) {
      try {
        const pushed = pusher.pushAndConfirm !== undefined ? pusher.pushAndConfirm(m, info) : pusher.push(m, info);
        if (pushed !== undefined) await pushed;
        return;
      } catch (pushError) {
        if (slot.abandoned) return;
        this.#emitError(pushError, {
          queue: this.#options.name,
          stage: 'dead-letter',
          messages: [m],
          attempt: failures,
        });
      }
      await sleep(backoffDelay(this.#options.deadLetterBackoff, failures), this.#hardStop.signal);
      if (slot.abandoned) return;
    }
  }

  #release(slot: ConsumerSlot<T>, count: number): void {
    slot.current = undefined;
    slot.currentOrigin = undefined;
    this.#inFlight -= count;
    if (this.#inFlight === 0 && this.#parked === 0 && (this.#channel as Channel<T, ProducerSlot<T>>).pending === 0) {
      this.emit('drain');
    }
  }

  #consumerMustYield(): boolean {
    return (
      (++this.#consumerTurns & YIELD_CHECK_MASK) === 0 && performance.now() - this.#lastConsumerYield >= YIELD_AFTER_MS
    );
  }

  async #consumerYield(): Promise<void> {
    await nextTurn();
    this.#lastConsumerYield = performance.now();
  }

  /** `keyOf` as the channel calls it when cutting runs: a throwing `keyOf` means "no key", reported once. */
  readonly #keyOf = (message: T): unknown => {
    try {
      return (this.#options.keyOf as NonNullable<ResolvedQueueOptions<T>['keyOf']>)(message);
    } catch (error) {
      if (this.#keyFailed !== message) {
        this.#keyFailed = message;
        this.#emitError(error, { queue: this.#options.name, stage: 'key', messages: [message] });
      }
      return undefined;
    }
  };

  /**
   * Runs a run of same-key messages (one message when the key is `undefined`), then whatever queued
   * up behind the key meanwhile; parks the run if another consumer holds the key.
   */
  async #handleRun(slot: ConsumerSlot<T>, run: readonly T[], key: unknown, origin: ProducerSlot<T>): Promise<void> {
    this.#parked += run.length;
    if (key === undefined) {
      await this.#workThrough(slot, run, origin);
      return;
    }
    if (this.#keys.has(key)) {
      // The key is busy: its owner runs these after what it holds, keeping channel order.
      let backlog = this.#keys.get(key);
      if (backlog === null || backlog === undefined) {
        backlog = new Deque<Parked<T>>();
        this.#keys.set(key, backlog);
      }
      backlog.push({ run, origin });
      this.#parkedRuns++;
      return;
    }
    this.#keys.set(key, null);
    for (let next: Parked<T> | undefined = { run, origin }; next !== undefined; ) {
      if (!(await this.#workThrough(slot, next.run, next.origin))) return;
      next = this.#keys.get(key)?.shift();
      if (next === undefined) continue;
      this.#parkedRuns--;
      // Every waiter re-checks the limit: waking only the first armed one could hit a stale entry (a
      // consumer woken meanwhile by a broadcast and now asleep on the channel) and leave a real one asleep.
      for (let w = this.#parkWaiters.shift(); w !== undefined; w = this.#parkWaiters.shift()) w.wake();
    }
    this.#keys.delete(key);
  }

  /**
   * Works through a run held by `slot`, one message at a time (attempts, retries, dead letter,
   * settlement), with the steps of a handler call written out as in {@link Queue.#consume} to save an
   * async frame per message. Returns false if the stop deadline took the rest.
   */
  async #workThrough(slot: ConsumerSlot<T>, messages: readonly T[], from: ProducerSlot<T>): Promise<boolean> {
    slot.run = messages;
    slot.runOrigin = from;
    for (let i = 0; i < messages.length; i++) {
      slot.runNext = i + 1;
      this.#parked--;
      const message = messages[i] as T;
      const timed = this.#enter(slot, message, false, from);
      const started = timed ? performance.now() : 0;
      let error: unknown = NO_ERROR;
      try {
        const pending = this.#call(slot, message, false, 1);
        if (pending !== undefined) await pending;
      } catch (e) {
        error = e;
      }
      const recovering = this.#afterFirstCall(slot, message, false, from, error, started, timed);
      if (recovering !== undefined) await recovering;
      if (this.#consumerMustYield()) await this.#consumerYield();
      if (slot.abandoned) return false;
    }
    slot.run = undefined;
    return true;
  }

  async #handleEvents(slot: ConsumerSlot<T>): Promise<void> {
    const consumer = slot.consumer as Consumer<T>;
    const onEvent = consumer.onEvent;
    for (let b = slot.inbox.shift(); b !== undefined; b = slot.inbox.shift()) {
      if (this.#hardStopped) {
        this.#broadcastDone(b, false);
        continue;
      }
      if (typeof onEvent === 'function') {
        try {
          const result = onEvent.call(consumer, b.event);
          if (isThenable(result)) {
            const { timeoutMs } = this.#options;
            await (timeoutMs > 0 ? withTimeout(result, timeoutMs, new AbortController()) : result);
          }
        } catch (error) {
          this.#emitError(error, { queue: this.#options.name, stage: 'event' });
        }
      }
      this.#broadcastDone(b, true);
    }
  }

  #broadcastDone(b: Broadcast, delivered: boolean): void {
    if (delivered) b.delivered++;
    if (--b.remaining <= 0 && this.#openBroadcasts.delete(b)) b.resolve(b.delivered);
  }

  // ---------------------------------------------------------------------------------------------
  // Shared

  /**
   * Calls a factory until it succeeds or `giveUp()` says the result is no longer needed; between
   * failures it sleeps with back-off, cut short by `wakeSignal()`.
   */
  async #create<X>(
    factory: () => X | Promise<X>,
    stage: 'producer-factory' | 'consumer-factory',
    giveUp: () => boolean,
    wakeSignal: () => AbortSignal,
  ): Promise<X | undefined> {
    for (let attempt = 1; !giveUp(); attempt++) {
      try {
        const made = await factory();
        if (made === null || typeof made !== 'object') {
          throw new InvalidOptionError(
            stage === 'producer-factory' ? 'producerFactory' : 'consumerFactory',
            made,
            'a function returning an object',
          );
        }
        if (giveUp()) {
          await (made as { close?(): unknown }).close?.();
          return undefined;
        }
        return made;
      } catch (error) {
        this.#emitError(error, { queue: this.#options.name, stage });
        await sleep(backoffDelay(this.#options.factoryBackoff, attempt), wakeSignal());
      }
    }
    return undefined;
  }

  #settle(origin: ProducerSlot<T>, message: T, outcome: Outcome): void {
    try {
      let result: unknown;
      if (origin.settles) result = (origin.producer.settle as NonNullable<Producer<T>['settle']>)(message, outcome);
      else if (isSettleable(message)) {
        result =
          outcome.type === 'consumed' || outcome.type === 'dead-lettered' ? message.ack() : message.nack(outcome);
      } else return;
      if (isThenable(result)) {
        result.then(undefined, (error: unknown) =>
          this.#emitError(error, { queue: this.#options.name, stage: 'settle', messages: [message] }),
        );
      }
    } catch (error) {
      this.#emitError(error, { queue: this.#options.name, stage: 'settle', messages: [message] });
    }
  }

  #nack(origin: ProducerSlot<T>, message: T, outcome: Outcome): void {
    this.#nacked++;
    this.#settle(origin, message, outcome);
  }

  #emitError(error: unknown, info: QueueErrorInfo<T>): void {
    if (this.listenerCount('error') > 0) {
      try {
        this.emit('error', error, info);
      } catch (listenerError) {
        this.#options.logger.error('error listener threw', { queue: info.queue, error: listenerError });
      }
      return;
    }
    this.#options.logger.error(`${info.stage} failed`, {
      queue: info.queue,
      stage: info.stage,
      attempt: info.attempt,
      error,
    });
  }

  #beforeStart(method: string): void {
    if (this.#state !== 'idle') throw new QueueStateError(`${method}() must be called before start()`, this.#state);
  }
}
