/**
 * The small client interface @q/amqp is written against. amqplib satisfies it through
 * `amqplib-client.ts`, the only module that imports amqplib: its channels fit these interfaces as
 * they are, its connection gets a thin wrapper (heartbeat watchdog, `destroy`).
 */

/** The delivery facts of a message as the client hands it over. */
export interface ClientMessageFields {
  /** The channel's tag for this delivery (what `ack`/`nack` name). */
  readonly deliveryTag: number;
  /** Whether the broker delivered it before (to any consumer) without an ack. */
  readonly redelivered: boolean;
  /** The exchange it was published to (`''` for the default exchange). */
  readonly exchange: string;
  /** The routing key it was published with. */
  readonly routingKey: string;
  /** The consumer it was delivered to (absent on `get` and `return`). */
  readonly consumerTag?: string;
  /** For a returned message: the broker's reply code (312 NO_ROUTE). */
  readonly replyCode?: number;
  /** For a returned message: the broker's reply text. */
  readonly replyText?: string;
}

/** The AMQP basic properties @q/amqp reads or writes (amqplib passes the rest through). */
export interface ClientMessageProperties {
  /** Application headers (an AMQP field table). */
  readonly headers?: Record<string, unknown> | undefined;
  /** The message id the publisher set. */
  readonly messageId?: string | undefined;
  /** Per-message TTL in milliseconds, as a string. */
  readonly expiration?: string | undefined;
  /** 2 for persistent, 1 for transient. */
  readonly deliveryMode?: number | undefined;
  /** Seconds since the epoch, when set. */
  readonly timestamp?: number | undefined;
  /** The MIME type, when set. */
  readonly contentType?: string | undefined;
}

/** A message delivered by `consume`/`get`, or handed back by a `return`. */
export interface ClientMessage {
  /** The body. */
  readonly content: Buffer;
  /** The delivery facts. */
  readonly fields: ClientMessageFields;
  /** The basic properties. */
  readonly properties: ClientMessageProperties;
}

/** What `publish` may set (amqplib's names). */
export interface ClientPublishOptions {
  /** Ask for a `basic.return` when no queue receives the message. */
  readonly mandatory?: boolean;
  /** Delivery mode 2: written to disk by durable queues. */
  readonly persistent?: boolean;
  /** The message id property. */
  readonly messageId?: string;
  /** Application headers. */
  readonly headers?: Record<string, unknown>;
  /** Per-message TTL, milliseconds as a string. */
  readonly expiration?: string;
  /** The MIME type. */
  readonly contentType?: string;
  /** Seconds since the epoch. */
  readonly timestamp?: number;
  /** The correlation id property. */
  readonly correlationId?: string;
  /** The content encoding property. */
  readonly contentEncoding?: string;
  /** The message type property. */
  readonly type?: string;
  /** The application id property. */
  readonly appId?: string;
  /** Where replies go. */
  readonly replyTo?: string;
  /** 0 to 255, for priority queues. */
  readonly priority?: number;
}

/** Queue declare options (amqplib's names; `arguments` carries the `x-` arguments). */
export interface ClientQueueOptions {
  /** Survives a broker restart. */
  readonly durable?: boolean;
  /** Only this connection may use it; deleted with it. */
  readonly exclusive?: boolean;
  /** Deleted when its last consumer goes. */
  readonly autoDelete?: boolean;
  /** The `x-` arguments. */
  readonly arguments?: Record<string, unknown>;
}

/** Exchange declare options. */
export interface ClientExchangeOptions {
  /** Survives a broker restart. */
  readonly durable?: boolean;
  /** Only other exchanges may publish to it. */
  readonly internal?: boolean;
  /** Deleted when its last binding goes. */
  readonly autoDelete?: boolean;
  /** Where unroutable messages go instead of being returned. */
  readonly alternateExchange?: string;
  /** Extra `x-` arguments. */
  readonly arguments?: Record<string, unknown>;
}

/** The broker's answer to a queue declare. */
export interface ClientQueueInfo {
  /** The queue's name (the generated one for a server-named queue). */
  readonly queue: string;
  /** Ready messages. */
  readonly messageCount: number;
  /** Consumers attached. */
  readonly consumerCount: number;
}

/** One AMQP channel. */
export interface ClientChannel {
  /** Declares a queue (or checks it is declared the same way: a difference closes the channel). */
  assertQueue(queue: string, options?: ClientQueueOptions): Promise<ClientQueueInfo>;
  /** Declares passively: fails (closing the channel) when the queue does not exist. */
  checkQueue(queue: string): Promise<ClientQueueInfo>;
  /** Deletes a queue; resolves with how many messages it held. */
  deleteQueue(
    queue: string,
    options?: { ifUnused?: boolean; ifEmpty?: boolean },
  ): Promise<{
    /** Messages the queue held. */
    messageCount: number;
  }>;
  /** Removes every ready message of a queue. */
  purgeQueue(queue: string): Promise<{
    /** Messages the queue held. */
    messageCount: number;
  }>;
  /** Declares an exchange. */
  assertExchange(
    exchange: string,
    type: string,
    options?: ClientExchangeOptions,
  ): Promise<{
    /** The exchange's name. */
    exchange: string;
  }>;
  /** Declares passively: fails (closing the channel) when the exchange does not exist. */
  checkExchange(exchange: string): Promise<unknown>;
  /** Deletes an exchange. */
  deleteExchange(exchange: string, options?: { ifUnused?: boolean }): Promise<unknown>;
  /** Binds a queue to an exchange. */
  bindQueue(queue: string, source: string, pattern: string, args?: Record<string, unknown>): Promise<unknown>;
  /** Removes a binding. */
  unbindQueue(queue: string, source: string, pattern: string, args?: Record<string, unknown>): Promise<unknown>;
  /** Binds an exchange to another. */
  bindExchange(destination: string, source: string, pattern: string, args?: Record<string, unknown>): Promise<unknown>;
  /** Publishes; `false` means the channel's buffer is full: wait for `drain`. */
  publish(exchange: string, routingKey: string, content: Buffer, options?: ClientPublishOptions): boolean;
  /** Starts a consumer; `null` is delivered when the broker cancels it. */
  consume(
    queue: string,
    onMessage: (message: ClientMessage | null) => void,
    options?: { consumerTag?: string; noAck?: boolean; exclusive?: boolean; arguments?: Record<string, unknown> },
  ): Promise<{
    /** The tag that cancels this consumer. */
    consumerTag: string;
  }>;
  /** Stops a consumer. */
  cancel(consumerTag: string): Promise<unknown>;
  /** Fetches one message, `false` when the queue is empty. */
  get(queue: string, options?: { noAck?: boolean }): Promise<ClientMessage | false>;
  /** Acknowledges a delivery (all up to it with `allUpTo`). */
  ack(message: ClientMessage, allUpTo?: boolean): void;
  /** Negatively acknowledges a delivery, requeued unless `requeue` is false. */
  nack(message: ClientMessage, allUpTo?: boolean, requeue?: boolean): void;
  /** Sets the unacked-delivery limit of this channel's consumers. */
  prefetch(count: number, global?: boolean): Promise<unknown>;
  /** Closes the channel. */
  close(): Promise<void>;
  /** The channel closed (by either side, or with its connection). */
  on(event: 'close', listener: () => void): unknown;
  /** The server closed the channel with an error (a `close` follows). */
  on(event: 'error', listener: (error: Error) => void): unknown;
  /** A `mandatory` message no queue received. */
  on(event: 'return', listener: (message: ClientMessage) => void): unknown;
  /** The write buffer emptied after `publish` returned false. */
  on(event: 'drain', listener: () => void): unknown;
  /** Removes a listener added with `on`. */
  removeListener(event: 'close' | 'drain', listener: () => void): unknown;
  /** Removes a listener added with `on`. */
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
  /** Removes a listener added with `on`. */
  removeListener(event: 'return', listener: (message: ClientMessage) => void): unknown;
}

/** A `basic.ack` or `basic.nack` of publishes on a confirm channel. */
export interface ClientConfirmFields {
  /** The delivery tag confirmed: publishes count from 1 per channel, after `confirm.select`. */
  readonly deliveryTag: number;
  /** Whether every publish up to `deliveryTag` is confirmed with it. */
  readonly multiple: boolean;
}

/**
 * A channel in confirm mode: every publish is acked or nacked by the broker exactly once. @q/amqp
 * counts the delivery tags itself from the `ack` and `nack` events (`multiple` included), so that a
 * nack, a return and a closed channel are told apart without reading error texts.
 */
export interface ClientConfirmChannel extends ClientChannel {
  /**
   * Publishes; `callback`, when given, is called once with `null` for an ack, or an error for a
   * nack or a closed channel.
   */
  publish(
    exchange: string,
    routingKey: string,
    content: Buffer,
    options?: ClientPublishOptions,
    callback?: (error: unknown) => void,
  ): boolean;
  /** The broker confirmed publishes. */
  on(event: 'ack' | 'nack', listener: (fields: ClientConfirmFields) => void): unknown;
  /** The channel closed (by either side, or with its connection). */
  on(event: 'close', listener: () => void): unknown;
  /** The server closed the channel with an error (a `close` follows). */
  on(event: 'error', listener: (error: Error) => void): unknown;
  /** A `mandatory` message no queue received (it precedes that message's ack). */
  on(event: 'return', listener: (message: ClientMessage) => void): unknown;
  /** The write buffer emptied after `publish` returned false. */
  on(event: 'drain', listener: () => void): unknown;
}

/** One connection to a broker. */
export interface ClientConnection {
  /** Opens a channel. */
  createChannel(): Promise<ClientChannel>;
  /** Opens a channel in confirm mode. */
  createConfirmChannel(): Promise<ClientConfirmChannel>;
  /** Closes the connection with the AMQP handshake (waits for the broker's answer). */
  close(): Promise<void>;
  /** Closes the socket now, without any handshake: what a close past its deadline does. */
  destroy(): void;
  /** The connection closed; `error` is why, absent for a close we asked for. */
  on(event: 'close', listener: (error?: Error) => void): unknown;
  /** An error on the connection (a `close` follows when it is fatal). */
  on(event: 'error', listener: (error: Error) => void): unknown;
  /** The broker stopped reading from this connection (a resource alarm). */
  on(event: 'blocked', listener: (reason: string) => void): unknown;
  /** The broker reads from this connection again. */
  on(event: 'unblocked', listener: () => void): unknown;
  /** Removes a listener added with `on`. */
  removeListener(event: 'close', listener: (error?: Error) => void): unknown;
  /** Removes a listener added with `on`. */
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
  /** Removes a listener added with `on`. */
  removeListener(event: 'blocked', listener: (reason: string) => void): unknown;
  /** Removes a listener added with `on`. */
  removeListener(event: 'unblocked', listener: () => void): unknown;
}

/** What {@link AmqpClient.connect} needs besides the URL. */
export interface ClientConnectOptions {
  /** Heartbeat timeout to ask for, in seconds (0 disables heartbeats). */
  readonly heartbeatSeconds: number;
  /** Give up a connect (TCP plus the AMQP handshake) after this many milliseconds. */
  readonly connectTimeoutMs: number;
  /** A name the broker shows for the connection. */
  readonly connectionName?: string;
}

/** Opens connections: `amqplibClient()` is the one @q/amqp ships. */
export interface AmqpClient {
  /** Opens one connection, or rejects; never retries (the caller's loop does). */
  connect(url: string, options: ClientConnectOptions): Promise<ClientConnection>;
}
