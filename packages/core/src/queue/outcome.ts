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
  | { readonly type: 'consumed' }
  | { readonly type: 'dead-lettered'; readonly error: unknown; readonly attempts: number }
  | { readonly type: 'failed'; readonly error: unknown; readonly attempts: number }
  | { readonly type: 'nacked'; readonly reason: 'stop-timeout' | 'stopped' };

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
  ack(): unknown;
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
