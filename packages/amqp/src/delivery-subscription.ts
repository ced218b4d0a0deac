import { backoffDelay } from '@q/core';
import { settledWithin } from '@q/core/internal';
import type { ResolvedProducerOptions } from './amqp-producer-options.js';
import type { ClientConnection, ClientMessage } from './client.js';
import type { AmqpConnection } from './connection.js';
import { DeliverySource, type SettleCounts } from './delivery-source.js';

/** What a {@link DeliverySubscription} tells its producer. */
export interface SubscriptionHooks {
  /** A delivery arrived on `source`. */
  deliver(source: DeliverySource, message: ClientMessage): void;
  /** A consumer is running (after a start, a reconnect or a reopened channel). */
  consuming(): void;
  /** The consumer stopped without being asked (channel or connection lost, consumer cancelled). */
  lost(cause: unknown): void;
}

/**
 * Keeps one consumer on the queue: after every (re)connect (an `onConnect` setup of the connection)
 * it opens a channel, sets the prefetch, declares, and consumes; when the channel alone closes (a
 * channel error, the broker cancelled the consumer) it opens another on the same connection, with
 * back-off. Each channel is its own {@link DeliverySource}, so a delivery is only ever settled on
 * the channel that delivered it.
 */
export class DeliverySubscription {
  readonly #connection: AmqpConnection;
  readonly #o: ResolvedProducerOptions;
  readonly #hooks: SubscriptionHooks;
  readonly #counts: SettleCounts;
  readonly #unregister: (() => void)[] = [];
  /** The connection our setup last ran on, until it is lost. */
  #conn: ClientConnection | undefined;
  /** The consuming channel, if any. */
  #current: DeliverySource | undefined;
  /** The subscribe under way, if any. */
  #subscribing: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  #stopping = false;

  constructor(connection: AmqpConnection, o: ResolvedProducerOptions, hooks: SubscriptionHooks, counts: SettleCounts) {
    this.#connection = connection;
    this.#counts = counts;
    this.#o = o;
    this.#hooks = hooks;
  }

  /** The channel consuming now, if any. */
  get current(): DeliverySource | undefined {
    return this.#current;
  }

  /** The connection the consumer runs on now, if any (for republishing on it). */
  get connection(): ClientConnection | undefined {
    return this.#conn;
  }

  /** Starts consuming now if connected, and after every reconnect. */
  start(): void {
    this.#unregister.push(
      this.#connection.onDisconnect((cause) => {
        this.#conn = undefined;
        this.#lose(cause);
      }),
      // Never throws: a failed subscribe is retried here, so a queue that does not exist yet does not
      // tear down a connection that pushers may share.
      this.#connection.onConnect(async (conn) => {
        this.#conn = conn;
        this.#failures = 0;
        await this.#subscribe(conn);
      }),
    );
  }

  /**
   * Stops the consumer (`basic.cancel`), so no more deliveries come; the channel stays open, so what
   * was delivered can still be settled. Bounded by `timeoutMs` in all (both waits share it).
   */
  async cancel(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    this.#stopping = true;
    for (const unregister of this.#unregister.splice(0)) unregister();
    clearTimeout(this.#retryTimer);
    await settledWithin(this.#subscribing, timeoutMs);
    const source = this.#current;
    if (source === undefined || !source.open || source.consumerTag === '') return;
    await settledWithin(
      source.channel.cancel(source.consumerTag).catch(() => {}),
      Math.max(0, deadline - performance.now()),
    );
  }

  /** Closes the consumer channel (the broker requeues whatever it did not settle). Bounded by `timeoutMs`. */
  async close(timeoutMs: number): Promise<void> {
    const source = this.#current;
    this.#current = undefined;
    if (source === undefined || !source.open) return;
    // Acks given in this turn go out before the close, which would requeue their messages.
    source.flush();
    source.closed();
    await settledWithin(
      source.channel.close().catch(() => {}),
      timeoutMs,
    );
  }

  #subscribe(conn: ClientConnection): Promise<void> {
    const subscribing = this.#trySubscribe(conn).finally(() => {
      if (this.#subscribing === subscribing) this.#subscribing = undefined;
    });
    this.#subscribing = subscribing;
    return subscribing;
  }

  async #trySubscribe(conn: ClientConnection): Promise<void> {
    if (this.#stopping || this.#conn !== conn) return;
    let source: DeliverySource | undefined;
    try {
      const channel = await conn.createChannel();
      source = new DeliverySource(channel, this.#counts);
      const opened = source;
      channel.on('close', () => this.#channelClosed(opened, conn));
      await channel.prefetch(this.#o.prefetch);
      if (this.#o.declare !== undefined) await this.#o.declare(channel);
      if (this.#stopping) {
        await settledWithin(
          channel.close().catch(() => {}),
          this.#o.closeTimeoutMs,
        );
        return;
      }
      // Deliveries may be dispatched before consume() resolves: the source must be current by then.
      this.#current = opened;
      const { consumerTag } = await channel.consume(
        this.#o.queue,
        (message) => (message === null ? this.#cancelled(opened) : this.#hooks.deliver(opened, message)),
        { noAck: false },
      );
      opened.consumerTag = consumerTag;
      this.#failures = 0;
      if (opened.open) this.#hooks.consuming();
    } catch (error) {
      if (this.#current === source) this.#current = undefined;
      if (source?.open) {
        source.closed();
        await settledWithin(
          source.channel.close().catch(() => {}),
          this.#o.closeTimeoutMs,
        );
      }
      // A failure because the connection went is that loss; onConnect subscribes again.
      if (this.#stopping || this.#conn !== conn) return;
      this.#failures++;
      this.#o.logger.warn(
        { err: error, queue: this.#o.queue, attempt: this.#failures },
        `AMQP consumer of ${this.#o.queue} could not start; retrying`,
      );
      this.#hooks.lost(error);
      this.#retry(conn);
    }
  }

  /** The broker cancelled our consumer (the queue was deleted): close the channel, which reopens. */
  #cancelled(source: DeliverySource): void {
    this.#o.logger.warn({ queue: this.#o.queue }, `RabbitMQ cancelled the consumer of ${this.#o.queue}`);
    source.flush();
    source.closed();
    // The close event of the channel does the rest (reopen with back-off).
    source.channel.close().catch(() => {});
  }

  #channelClosed(source: DeliverySource, conn: ClientConnection): void {
    source.closed();
    if (this.#current !== source) return;
    this.#current = undefined;
    if (this.#stopping) return;
    this.#hooks.lost(new Error(`the consumer channel of ${this.#o.queue} closed`));
    // On a connection loss the channel closes first: the retry finds #conn changed and leaves it to onConnect.
    this.#failures++;
    this.#retry(conn);
  }

  #retry(conn: ClientConnection): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(
      () => {
        this.#retryTimer = undefined;
        if (!this.#stopping && this.#conn === conn && this.#current === undefined) void this.#subscribe(conn);
      },
      Math.max(backoffDelay(this.#o.reopenBackoff, this.#failures), 10),
    );
  }

  #lose(cause: unknown): void {
    const source = this.#current;
    this.#current = undefined;
    source?.closed();
    if (!this.#stopping) this.#hooks.lost(cause);
  }
}
