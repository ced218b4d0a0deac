import { QueueError } from '@q/core';

/** The {@link AmqpConnection} was closed: nothing waits for a (re)connect any more. */
export class AmqpConnectionClosedError extends QueueError {
  override readonly code: string = 'Q_AMQP_CLOSED';
  constructor() {
    super('the AMQP connection was closed');
  }
}

/**
 * Nothing arrived from the broker for longer than the heartbeat allows: the connection is taken
 * for dead (a half-open TCP connection, a frozen broker) and closed, and the connection reconnects.
 */
export class HeartbeatTimeoutError extends QueueError {
  override readonly code: string = 'Q_AMQP_HEARTBEAT_TIMEOUT';
  /** How long nothing arrived, in milliseconds. */
  readonly silentMs: number;
  constructor(silentMs: number) {
    super(`nothing received from the broker for ${silentMs} ms (missed heartbeats): connection taken for dead`);
    this.silentMs = silentMs;
  }
}
