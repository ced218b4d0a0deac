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

/**
 * A push that was never published: no channel could be opened (the broker unreachable) or the
 * window stayed full for `confirmTimeoutMs`. The broker does not have the message; push it again.
 */
export class PublishTimeoutError extends QueueError {
  override readonly code: string = 'Q_AMQP_PUBLISH_TIMEOUT';
  /** Where the push was addressed. */
  readonly destination: string;
  constructor(destination: string, timeoutMs: number, options?: ErrorOptions) {
    super(
      `a push to "${destination}" was not published within ${timeoutMs} ms (no channel, or no room in the window); the broker does not have it`,
      options,
    );
    this.destination = destination;
  }
}

/** A push still waiting to be published when its pusher was closed: it was not published. */
export class PusherClosedError extends QueueError {
  override readonly code: string = 'Q_AMQP_PUSHER_CLOSED';
  constructor(destination: string) {
    super(`the pusher was closed before a push to "${destination}" was published; the broker does not have it`);
  }
}
