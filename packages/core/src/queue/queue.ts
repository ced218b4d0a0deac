import { EventEmitter } from 'eventemitter3';
import { InvalidOptionError, QueueStateError } from '../support/errors.js';
import type { LatencyBuckets } from '../support/latency-histogram.js';
import { duration, integerAtLeast, nonEmptyString, object } from '../support/validate.js';
import type { ConsumerFactory } from './consumer.js';
import type { QueueEvents, StopOptions } from './events.js';
import type { Listener } from './listener.js';
import { MAX_LOOPS, type QueueOptions, type ResolvedQueueOptions, resolveQueueOptions } from './options.js';
import { NACK_STOP_TIMEOUT, NACK_STOPPED } from './outcome.js';
import { type QueueParts, queueParts } from './parts.js';
import type { ProducerFactory } from './producer.js';
import type { ProducerSlot } from './slots.js';
import { type QueueState, type QueueStats, startStatsTicker } from './stats.js';

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
 * to its producer exactly once), handler timeouts, retries with back-off, dead letter, ordering by
 * key, a stop that always ends within its deadline and nacks what it could not drain, and stats.
 *
 * This class is the queue's life: it wires the parts together and runs start, stop and the stop
 * deadline. The parts (see `parts.ts`) are the producer loops, the consumer loops (with attempts,
 * dead letter and the key scheduler), settlement, broadcasts, the stop signals and the reporter.
 *
 * @typeParam T the message type (go-zero: `string`).
 */
export class Queue<T = string> extends EventEmitter<QueueEvents<T>> {
  readonly #options: ResolvedQueueOptions<T>;
  readonly #listeners: Listener[] = [];
  readonly #p: QueueParts<T>;
  #done: Promise<void> | undefined;

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
    const o = resolveQueueOptions<T>(options);
    this.#options = o;
    this.#p = queueParts<T>(this, o, producerFactory, consumerFactory, this.#listeners, () => void this.stop());
    if (o.deadLetter !== undefined && o.deadLetter.pushAndConfirm === undefined) {
      this.#p.report.log('warn', 'the dead-letter pusher cannot confirm: a message may be lost after its push', {
        queue: o.name,
        pusher: o.deadLetter.name(),
      });
    }
  }

  /** The queue's name. */
  get name(): string {
    return this.#options.name;
  }

  /** The lifecycle state. */
  get state(): QueueState {
    return this.#p.life.state;
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
    if (this.#done !== undefined) throw new QueueStateError('start() was already called', this.#p.life.state);
    if (this.#p.life.state === 'stopped') {
      this.#done = Promise.resolve();
      return this.#done;
    }
    this.#p.life.state = 'running';
    // `#done` exists before any user code runs (a factory, the signal's stop): a stop() from there
    // must not take the not-started branch.
    let run!: (running: Promise<void>) => void;
    this.#done = new Promise<void>((resolve) => {
      run = resolve;
    });
    const signal = this.#options.signal;
    if (signal !== undefined) {
      if (signal.aborted) void this.stop();
      else
        signal.addEventListener('abort', () => void this.stop(), { once: true, signal: this.#p.signals.hard.signal });
    }
    run(this.#run());
    return this.#done;
  }

  /**
   * Stops the queue: producers are aborted (their `produce` signal fires) and no longer called, the
   * channel closes once they let go of what they hold, consumers drain everything already pulled.
   * What is still unconsumed after `timeoutMs` is nacked back to its producer. Resolves when the queue
   * has stopped; calling it again returns the same promise (a shorter `timeoutMs` still applies).
   * Before `start()`, it marks the queue stopped and resolves at once (broadcasts made so far resolve
   * with 0).
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
    const life = this.#p.life;
    if (this.#done === undefined) {
      life.state = 'stopped';
      this.#p.signals.soft.abort();
      this.#p.signals.hard.abort();
      this.#p.broadcasts.finish();
      return Promise.resolve();
    }
    if (life.state === 'running') {
      life.state = 'stopping';
      this.#p.signals.soft.abort();
      this.#p.producers.maybeCloseChannel();
    }
    if (life.state === 'stopping') this.#p.signals.setDeadline(timeoutMs, () => this.#abandon());
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
    const state = this.#p.life.state;
    if (state === 'stopped') return Promise.resolve(0);
    if (state === 'idle') return this.#p.broadcasts.early(event);
    return this.#p.broadcasts.send(event, this.#p.consumers.slots);
  }

  /** Current counters, in-flight counts and handler latency percentiles. */
  stats(): QueueStats {
    const s = this.#p.settlement;
    return {
      name: this.#options.name,
      state: this.#p.life.state,
      paused: this.#p.producers.paused,
      producers: this.#p.producers.live,
      consumers: this.#p.consumers.live,
      produced: s.produced,
      consumed: s.consumed,
      failed: s.failed,
      retries: s.retries,
      deadLettered: s.deadLettered,
      nacked: s.nacked,
      inFlight: s.inFlight,
      buffered: this.#p.channel.pending,
      parked: this.#p.keys?.parked ?? 0,
      latency: this.#p.latency.summary(),
    };
  }

  /**
   * Handler durations since the queue was made, as cumulative counts at `boundsMs` (ascending, in
   * milliseconds): the shape of a Prometheus histogram. Read from the histogram behind
   * `stats().latency`, so the same calls are counted (calls under 50 us are timed one in 16).
   * @throws {RangeError} when the bounds are not ascending finite numbers >= 0.
   */
  latencyBuckets(boundsMs: readonly number[]): LatencyBuckets {
    return this.#p.latency.buckets(boundsMs);
  }

  async #run(): Promise<void> {
    const { producers, consumers, statsIntervalMs } = this.#options;
    const signals = this.#p.signals;
    const consumerLoops: Promise<void>[] = [];
    for (let i = 0; i < consumers; i++) consumerLoops.push(this.#observe(this.#p.consumers.run()));
    // Every consumer loop has its slot by now (they register before their first await).
    this.#p.broadcasts.sendEarly(this.#p.consumers.slots);
    const producerLoops: Promise<void>[] = [];
    for (let i = 0; i < producers; i++) producerLoops.push(this.#observe(this.#p.producers.run()));
    const statsTimer = startStatsTicker(
      statsIntervalMs,
      () => this.stats(),
      this.#p.latency,
      (report) => this.#p.report.emit('stats', report),
    );

    await signals.channelClosed;
    await Promise.race([Promise.all(consumerLoops), signals.hardStop]);
    // Consumer loops that ended early (no valid consumer) left messages nobody will consume.
    this.#nackLeftovers();
    // Producers stuck in a produce() that ignores its signal are waited for until the deadline only.
    await Promise.race([Promise.all(producerLoops), signals.hardStop]);

    if (statsTimer !== undefined) clearInterval(statsTimer);
    await this.#closeAll();
    signals.clearDeadline();
    this.#p.broadcasts.finish();
    this.#p.life.state = 'stopped';
    // Releases the `signal` listener and anything else tied to the run.
    if (!signals.hard.signal.aborted) signals.hard.abort();
  }

  /** A loop never rejects (user code is guarded); if one did, it is reported, not left unhandled. */
  #observe(loop: Promise<void>): Promise<void> {
    return loop.catch((error: unknown) => this.#p.report.error(error, 'loop'));
  }

  /** After the consumer loops ended: whatever is still in the channel or a backlog goes back, once. */
  #nackLeftovers(): void {
    const { consumers, channel, settlement, keys } = this.#p;
    if (consumers.hardStopped || (channel.pending === 0 && (keys === undefined || keys.parked === 0))) return;
    const nack = (origin: ProducerSlot<T>, m: T): void => settlement.nack(origin, m, NACK_STOPPED);
    for (const { origin, messages } of channel.reclaim()) for (const m of messages) nack(origin, m);
    keys?.abandon(nack);
  }

  /** Stop deadline: hand back everything not yet consumed and let `start()` resolve. */
  #abandon(): void {
    if (this.#p.consumers.hardStopped) return;
    const settlement = this.#p.settlement;
    const nack = (origin: ProducerSlot<T>, m: T): void => settlement.nack(origin, m, NACK_STOP_TIMEOUT);
    const channel = this.#p.channel;
    for (const { origin, messages } of channel.reclaim()) for (const m of messages) nack(origin, m);
    channel.close();
    this.#p.signals.closing.abort();
    this.#p.consumers.abandon(nack);
    this.#p.keys?.abandon(nack);
    // Fires every handler's signal and wakes every consumer loop (see the constructor).
    this.#p.signals.hard.abort();
  }

  /**
   * Closes every distinct producer and consumer once, waiting until the stop deadline at most (a
   * later, shorter stop() moves it; `Infinity` waits for every close()).
   */
  async #closeAll(): Promise<void> {
    const { producers, consumers, closer, signals } = this.#p;
    const targets = new Set<object>([...producers.slots.map((s) => s.producer), ...consumers.made]);
    const closes = [...targets].map((t) => closer.close(t));
    // Past the deadline nobody waits for close(); failures are still reported.
    if (consumers.hardStopped) return;
    await Promise.race([Promise.all(closes), signals.hardStop]);
  }

  #beforeStart(method: string): void {
    if (this.#p.life.state !== 'idle')
      throw new QueueStateError(`${method}() must be called before start()`, this.#p.life.state);
  }
}
