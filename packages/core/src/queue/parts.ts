import type { EventEmitter } from 'eventemitter3';
import { Channel } from '../channel/channel.js';
import { LatencyHistogram } from '../support/latency-histogram.js';
import { Attempts } from './attempt.js';
import { Broadcasts } from './broadcast.js';
import type { ConsumerFactory } from './consumer.js';
import { ConsumerLoops } from './consumer-loop.js';
import { DeadLetter } from './dead-letter.js';
import type { QueueEvents } from './events.js';
import { Closer } from './factory.js';
import { KeyScheduler } from './key-scheduler.js';
import type { Listener } from './listener.js';
import type { ResolvedQueueOptions } from './options.js';
import type { ProducerFactory } from './producer.js';
import { ProducerLoops } from './producer-loop.js';
import { Reporter } from './reporter.js';
import { Settlement } from './settlement.js';
import type { ProducerSlot } from './slots.js';
import type { QueueState } from './stats.js';
import { StopSignals } from './stop-signals.js';

/** The parts of one Queue, wired together: see {@link queueParts}. */
export interface QueueParts<T> {
  readonly life: { state: QueueState };
  readonly report: Reporter<T>;
  readonly signals: StopSignals;
  readonly channel: Channel<T, ProducerSlot<T>>;
  readonly settlement: Settlement<T>;
  readonly latency: LatencyHistogram;
  readonly keys: KeyScheduler<T> | undefined;
  readonly broadcasts: Broadcasts<T>;
  readonly producers: ProducerLoops<T>;
  readonly consumers: ConsumerLoops<T>;
  readonly closer: Closer;
}

/**
 * Makes and wires the parts of a Queue: the path of a message is producer loops → channel →
 * consumer loops (→ key scheduler) → attempts (→ dead letter) → settlement, with the reporter for
 * everything that goes wrong and the stop signals for the end.
 *
 * The key backlogs are bounded by max(capacity, batchSize) messages (see {@link KeyScheduler}).
 */
export function queueParts<T>(
  emitter: EventEmitter<QueueEvents<T>>,
  o: ResolvedQueueOptions<T>,
  producerFactory: ProducerFactory<T>,
  consumerFactory: ConsumerFactory<T>,
  listeners: readonly Listener[],
  exhausted: () => void,
): QueueParts<T> {
  const life: { state: QueueState } = { state: 'idle' };
  const report = new Reporter<T>(emitter, o);
  const closer = new Closer(report);
  const signals = new StopSignals();
  const channel = new Channel<T, ProducerSlot<T>>(o.capacity);
  const keys =
    o.keyOf === undefined ? undefined : new KeyScheduler<T>(o.keyOf, Math.max(o.capacity, o.batchSize), report);
  const settlement = new Settlement<T>(
    report,
    () => (keys === undefined || keys.parked === 0) && channel.pending === 0,
  );
  const latency = new LatencyHistogram();
  const broadcasts = new Broadcasts<T>(report, o.timeoutMs);
  const producers = new ProducerLoops<T>({
    options: o,
    factory: producerFactory,
    channel,
    signals,
    settlement,
    report,
    closer,
    listeners,
    life,
    exhausted,
  });
  const consumers: ConsumerLoops<T> = new ConsumerLoops<T>({
    options: o,
    factory: consumerFactory,
    channel,
    signals,
    settlement,
    attempts: new Attempts<T>({
      timeoutMs: o.timeoutMs,
      retry: o.retry,
      keyed: keys !== undefined,
      deadLetter: o.deadLetter === undefined ? undefined : new DeadLetter<T>(o.deadLetter, o.deadLetterBackoff, report),
      settlement,
      report,
      latency,
      hardStopped: () => consumers.hardStopped,
    }),
    keys,
    broadcasts,
    latency,
    report,
    closer,
  });
  // One listener fans the deadline out to every handler's signal and every sleeping consumer loop.
  signals.hard.signal.addEventListener('abort', () => consumers.wakeAll(signals.hard.signal.reason), { once: true });
  return { life, report, signals, channel, settlement, latency, keys, broadcasts, producers, consumers, closer };
}
