import { QueueError } from '../support/errors.js';

/**
 * A push reached a destination that does not exist or that nothing consumes: AMQP's `basic.return`
 * for a `mandatory` publish (RabbitMQ still acks such a message, so a pusher must pair the return
 * with its confirm), a Kafka topic that does not exist, a Redis list no consumer registered for.
 * The message was not stored; pushing it again to the same place fails the same way.
 */
export class UnroutableError extends QueueError {
  override readonly code: string = 'Q_UNROUTABLE';
  /** Where the push was addressed (`exchange/routingKey`, a topic, a list key). */
  readonly destination: string;
  /** The broker's words, when it gave any (`312 NO_ROUTE`, `UNKNOWN_TOPIC_OR_PARTITION`). */
  readonly reason: string;

  constructor(destination: string, reason: string, options?: ErrorOptions) {
    super(`Unroutable: nothing receives messages sent to "${destination}" (${reason})`, options);
    this.destination = destination;
    this.reason = reason;
  }
}

/**
 * The broker refused a push it could route: a queue at its maximum length with overflow
 * `reject-publish` (RabbitMQ's `basic.nack`, the Redis pusher's length check), or a broker's
 * explicit negative confirm. The message was not stored.
 */
export class PublishRejectedError extends QueueError {
  override readonly code: string = 'Q_PUBLISH_REJECTED';
  /** Why: `maxlen` for a full queue, `nack` for any other negative confirm. */
  readonly reason: 'maxlen' | 'nack';
  /** Where the push was addressed. */
  readonly destination: string;

  constructor(destination: string, reason: 'maxlen' | 'nack', options?: ErrorOptions) {
    super(
      reason === 'maxlen'
        ? `Publish rejected: "${destination}" is at its maximum length (overflow: reject-publish)`
        : `Publish rejected: the broker refused the message for "${destination}"`,
      options,
    );
    this.reason = reason;
    this.destination = destination;
  }
}

/**
 * A push whose outcome is not known: the connection or channel closed after the message was sent
 * and before the broker confirmed it. The broker may or may not have it. Push it again with the
 * same id (consumers de-duplicate by id); never count it as confirmed.
 */
export class ConfirmUnknownError extends QueueError {
  override readonly code: string = 'Q_CONFIRM_UNKNOWN';
  /** Where the push was addressed. */
  readonly destination: string;

  constructor(destination: string, why: string, options?: ErrorOptions) {
    super(`Outcome unknown for a push to "${destination}": ${why}; push it again with the same id`, options);
    this.destination = destination;
  }
}

/**
 * An adapter was asked for a semantic its broker cannot honestly provide (a maximum length on a
 * Kafka topic, `reject-publish-dlx` on a quorum queue). Thrown when the option is given, before
 * anything runs, so no one believes they have a guarantee they do not.
 */
export class UnsupportedFeatureError extends QueueError {
  override readonly code: string = 'Q_UNSUPPORTED';
  /** The adapter that refused (`kafka`, `redis`, `amqp`, `log`). */
  readonly adapter: string;
  /** The feature or option refused (`maxLength`, `overflow: reject-publish-dlx`). */
  readonly feature: string;

  constructor(adapter: string, feature: string, why: string) {
    super(`${adapter} does not support ${feature}: ${why}`);
    this.adapter = adapter;
    this.feature = feature;
  }
}
