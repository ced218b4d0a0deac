/**
 * What became of a message, told to the producer that produced it (through {@link Producer.settle})
 * or to the message itself (through {@link SettleableMessage}).
 *
 * - `consumed`: a handler finished it. Remove it from the source.
 * - `dead-lettered`: it failed every attempt and the dead-letter pusher accepted it. Remove it.
 * - `failed`: it failed every attempt and there is no dead-letter pusher, or that push failed too.
 *   An at-least-once source decides: keep it for redelivery, or drop it as go-zero does.
 * - `nacked`: it was never finished because the queue stopped (`stop-timeout`: still unconsumed when
 *   the stop deadline expired; `stopped`: produced after the queue had closed its channel). Give it
 *   back to the source.
 */
export type Outcome =
  | {
      /** A handler finished it. */
      readonly type: 'consumed';
    }
  | {
      /** It failed every attempt and the dead-letter pusher took it. */
      readonly type: 'dead-lettered';
      /** What the last attempt threw. */
      readonly error: unknown;
      /** How many attempts were made. */
      readonly attempts: number;
    }
  | {
      /** It failed every attempt and was not dead-lettered. */
      readonly type: 'failed';
      /** What the last attempt threw. */
      readonly error: unknown;
      /** How many attempts were made. */
      readonly attempts: number;
    }
  | {
      /** It was never finished because the queue stopped. */
      readonly type: 'nacked';
      /** `stop-timeout`: unconsumed at the stop deadline; `stopped`: produced after the channel closed. */
      readonly reason: 'stop-timeout' | 'stopped';
    };

/** The one `consumed` outcome, shared so the hot path allocates nothing to settle. */
export const CONSUMED: Outcome = Object.freeze({ type: 'consumed' });
/** @internal */
export const NACK_STOP_TIMEOUT: Outcome = Object.freeze({ type: 'nacked', reason: 'stop-timeout' });
/** @internal */
export const NACK_STOPPED: Outcome = Object.freeze({ type: 'nacked', reason: 'stopped' });

/**
 * A message that settles itself, for sources that hand out message objects (AMQP deliveries,
 * leased Redis entries). When the producer has no {@link Producer.settle}, the queue calls
 * `ack()` for `consumed` and `dead-lettered`, and `nack(outcome)` for `failed` and `nacked`.
 */
export interface SettleableMessage {
  /** Called for `consumed` and `dead-lettered`: remove the message from its source. What it returns is ignored. */
  ack(): unknown;
  /** Called for `failed` and `nacked` with the outcome: keep or give back the message. What it returns is ignored. */
  nack(outcome: Outcome): unknown;
}

/** Whether a message carries its own `ack`/`nack`. */
export function isSettleable(message: unknown): message is SettleableMessage {
  return (
    typeof message === 'object' &&
    message !== null &&
    typeof (message as SettleableMessage).ack === 'function' &&
    typeof (message as SettleableMessage).nack === 'function'
  );
}
