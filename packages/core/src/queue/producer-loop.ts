import type { Channel } from '../channel/channel.js';
import { sleep } from '../support/backoff.js';
import { InvalidOptionError } from '../support/errors.js';
import { type Closer, make } from './factory.js';
import { isThenable, nextTurn, YIELD_AFTER_MS, YIELD_CHECK_MASK } from './handler-call.js';
import type { Listener } from './listener.js';
import type { ResolvedQueueOptions } from './options.js';
import { NACK_STOPPED } from './outcome.js';
import type { ProduceListener, ProducerFactory } from './producer.js';
import { NO_MORE } from './producer.js';
import type { Reporter } from './reporter.js';
import type { Settlement } from './settlement.js';
import type { ProducerSlot } from './slots.js';
import type { QueueState } from './stats.js';
import type { StopSignals } from './stop-signals.js';

/** What the producer loops share with their queue. */
export interface ProducerLoopsContext<T> {
  readonly options: ResolvedQueueOptions<T>;
  readonly factory: ProducerFactory<T>;
  readonly channel: Channel<T, ProducerSlot<T>>;
  readonly signals: StopSignals;
  readonly settlement: Settlement<T>;
  readonly report: Reporter<T>;
  readonly closer: Closer;
  /** go-zero's listeners, told of the aggregate pause and resume. */
  readonly listeners: readonly Listener[];
  /** The queue's lifecycle state, read on every turn. */
  readonly life: { state: QueueState };
  /** Every producer loop ended on {@link NO_MORE}: the queue stops by itself. */
  readonly exhausted: () => void;
}

/**
 * go-zero's producer side: N loops, each asking its producer for messages and sending them into the
 * channel (waiting for room), plus the aggregate pause (paused when the last active producer paused,
 * resumed when one is back). When the queue stops, the channel closes once no loop holds messages it
 * has not fully handed over.
 */
export class ProducerLoops<T> {
  readonly slots: ProducerSlot<T>[] = [];
  paused = false;
  readonly #c: ProducerLoopsContext<T>;
  #active = 0;
  /** Loops holding messages they have not fully handed to the channel. */
  #holding = 0;
  /** Loops whose producer said {@link NO_MORE}. */
  #exhausted = 0;

  constructor(context: ProducerLoopsContext<T>) {
    this.#c = context;
  }

  /** Producer loops that have a producer and have not ended. */
  get live(): number {
    return this.slots.filter((s) => !s.ended).length;
  }

  /** One producer loop, from its factory call to its end. */
  async run(): Promise<void> {
    const { channel, settlement, report } = this.#c;
    const signal = this.#c.signals.child();
    const producer = await make(
      this.#c.factory,
      {
        stage: 'producer-factory',
        giveUp: () => signal.aborted,
        wakeSignal: () => signal,
        inUse: (made) => this.slots.some((s) => s.producer === made),
        backoff: this.#c.options.factoryBackoff,
        closer: this.#c.closer,
      },
      report,
    );
    if (producer === undefined) return;
    if (typeof producer.produce !== 'function') {
      report.error(
        new InvalidOptionError('producerFactory', producer, 'a function returning a Producer'),
        'producer-factory',
      );
      return;
    }
    const slot: ProducerSlot<T> = {
      producer,
      signal,
      settles: typeof producer.settle === 'function',
      paused: false,
      ended: false,
    };
    this.slots.push(slot);
    this.#active++;
    this.#updatePause();
    if (typeof producer.addListener === 'function') report.guard(() => producer.addListener?.(this.#listenerFor(slot)));
    const life = this.#c.life;
    let empties = 0;
    let turns = 0;
    let lastYield = performance.now();
    // `life.state` is read instead of `signal.aborted`: the getter costs more than the rest of a turn.
    while (life.state === 'running') {
      let produced: unknown;
      try {
        produced = producer.produce(signal);
        if (isThenable(produced)) produced = await produced;
      } catch (error) {
        produced = undefined;
        if (!signal.aborted) report.error(error, 'produce');
      }
      if (produced === NO_MORE) {
        if (++this.#exhausted === this.#c.options.producers) this.#c.exhausted();
        break;
      }
      const isBatch = Array.isArray(produced);
      if (produced === undefined || produced === null || (isBatch && (produced as T[]).length === 0)) {
        if (signal.aborted) break;
        empties++;
        await (empties === 1 ? nextTurn() : sleep(Math.min(2 ** (empties - 2), this.#c.options.idleDelayMs), signal));
        continue;
      }
      empties = 0;
      settlement.produced += isBatch ? (produced as T[]).length : 1;
      if (channel.closed) {
        // A produce() that outlived the channel: its messages go straight back.
        if (isBatch) for (const m of produced as T[]) settlement.nack(slot, m, NACK_STOPPED);
        else settlement.nack(slot, produced as T, NACK_STOPPED);
        break;
      }
      this.#holding++;
      const pending = isBatch ? channel.sendBatch(produced as T[], slot) : channel.send(produced as T, slot);
      if (pending !== undefined) await pending;
      this.#holding--;
      if (life.state !== 'running') break;
      if ((++turns & YIELD_CHECK_MASK) === 0 && performance.now() - lastYield >= YIELD_AFTER_MS) {
        await nextTurn();
        lastYield = performance.now();
      }
    }
    slot.ended = true;
    if (!slot.paused) this.#active--;
    this.maybeCloseChannel();
  }

  /** Closes the channel once the queue is stopping and no loop holds messages it has not handed over. */
  maybeCloseChannel(): void {
    const { channel, signals } = this.#c;
    if (this.#c.life.state === 'stopping' && this.#holding === 0 && !channel.closed) {
      channel.close();
      signals.closing.abort();
    }
  }

  #listenerFor(slot: ProducerSlot<T>): ProduceListener {
    return {
      onProducerPause: () => {
        if (slot.paused || slot.ended) return;
        slot.paused = true;
        this.#active--;
        this.#updatePause();
      },
      onProducerResume: () => {
        if (!slot.paused || slot.ended) return;
        slot.paused = false;
        this.#active++;
        this.#updatePause();
      },
    };
  }

  /** go-zero's aggregate edges, told to `pause`/`resume` listeners and go-zero `Listener`s. */
  #updatePause(): void {
    if (this.#c.life.state !== 'running') return;
    const { report, listeners } = this.#c;
    if (!this.paused && this.#active === 0) {
      this.paused = true;
      report.emit('pause');
      for (const l of listeners) report.guard(() => l.onPause());
    } else if (this.paused && this.#active > 0) {
      this.paused = false;
      report.emit('resume');
      for (const l of listeners) report.guard(() => l.onResume());
    }
  }
}
