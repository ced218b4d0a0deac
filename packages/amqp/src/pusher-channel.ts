import { type Logger, UnroutableError } from '@q/core';
import { settledWithin, whenAborted } from '@q/core/internal';
import type { ClientConfirmChannel, ClientConnection } from './client.js';
import { ConfirmTracker, type TrackerOptions } from './confirm-tracker.js';
import type { AmqpConnection } from './connection.js';
import { AmqpConnectionClosedError, PublishTimeoutError, PusherClosedError } from './errors.js';
import type { Topology } from './topology.js';

/** Stands for "no topology to wait for". */
const ANY = {} as ClientConnection;

/** AMQP's reply code for a missing exchange or queue. */
const NOT_FOUND = 404;

/**
 * The confirm channel an {@link AmqpPusher} publishes on, with its {@link ConfirmTracker}: opened
 * on first use, and again after it closed (its connection lost, or the broker closed it). Before
 * the first publish on a new channel the exchange is checked (a passive declare), so that pushes to
 * an exchange that does not exist reject with `UnroutableError` rather than closing the channel
 * under the publishes before them.
 */
export class PusherChannel {
  readonly #connection: AmqpConnection;
  readonly #exchange: string;
  readonly #tracking: TrackerOptions;
  readonly #logger: Logger;
  readonly #closing = new AbortController();
  readonly #forgetDisconnects: () => void;
  readonly #forgetTopology: () => void;
  /** The connection the topology was last declared on, and who waits for that. */
  #declaredOn: ClientConnection | undefined;
  #declaredWaiters: (() => void)[] = [];
  #channel: ClientConfirmChannel | undefined;
  #tracker: ConfirmTracker | undefined;
  #opening: Promise<ConfirmTracker> | undefined;

  /** @param topology declared on every (re)connect, and on the current connection before the first publish. */
  constructor(connection: AmqpConnection, exchange: string, tracking: TrackerOptions, topology?: Topology) {
    this.#connection = connection;
    this.#exchange = exchange;
    this.#tracking = tracking;
    this.#logger = tracking.logger;
    // amqplib closes a lost connection's channels too; this is for clients that do not say so.
    this.#forgetDisconnects = connection.onDisconnect((cause) => {
      this.#tracker?.lose(cause);
      // Closed for good: a chunk waiting for its topology goes on, to find the connection closed.
      if (cause instanceof AmqpConnectionClosedError) this.#wakeDeclared();
    });
    this.#forgetTopology =
      topology === undefined
        ? () => {}
        : connection.onConnect(async (live) => {
            await topology.setup(live);
            this.#declaredOn = live;
            this.#wakeDeclared();
          });
    if (topology === undefined) this.#declaredOn = ANY;
  }

  /** The tracker of the open channel now, if any. */
  get tracker(): ConfirmTracker | undefined {
    return this.#tracker?.closed === false ? this.#tracker : undefined;
  }

  /**
   * The tracker of an open channel, opening one when needed (waiting for the connection).
   * @param deadline `performance.now()` time past which it gives up with {@link PublishTimeoutError}.
   * @param destination for errors.
   * @throws {UnroutableError} when the exchange does not exist.
   * @throws {PusherClosedError} once {@link PusherChannel.close} was called.
   * @throws {AmqpConnectionClosedError} once the (shared) connection was closed.
   */
  open(deadline: number, destination: string, timeoutMs: number): Promise<ConfirmTracker> {
    const open = this.tracker;
    if (open !== undefined) return Promise.resolve(open);
    if (this.#closing.signal.aborted) return Promise.reject(new PusherClosedError(destination));
    this.#opening ??= this.#open(deadline, destination, timeoutMs).finally(() => {
      this.#opening = undefined;
    });
    return this.#opening;
  }

  /**
   * Waits (until `deadline`, a `performance.now()` time) for the outstanding confirms, then closes
   * the channel: whatever is still unconfirmed then settles as unknown. Opens no channel any more.
   */
  async close(deadline: number): Promise<void> {
    this.#closing.abort();
    this.#forgetDisconnects();
    this.#forgetTopology();
    this.#wakeDeclared();
    const tracker = this.#tracker;
    const channel = this.#channel;
    if (tracker === undefined || channel === undefined) return;
    await settledWithin(tracker.whenIdle(), Math.max(0, deadline - performance.now()));
    tracker.lose(new Error('the pusher was closed'));
    await settledWithin(
      channel.close().catch(() => {}),
      Math.max(0, deadline - performance.now()),
    );
  }

  #wakeDeclared(): void {
    const waiters = this.#declaredWaiters;
    this.#declaredWaiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * Resolves once the topology was declared on `connection` (at once without a topology). A
   * pusher registered on a live connection must not publish before its own setup ran there.
   */
  #declared(connection: ClientConnection, signal: AbortSignal): Promise<void> {
    if (this.#declaredOn === ANY || this.#declaredOn === connection) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const cancel = whenAborted(signal, () => {
        this.#declaredWaiters = this.#declaredWaiters.filter((w) => w !== wake);
        reject(signal.reason);
      });
      const wake = (): void => {
        cancel();
        // Declared on a newer connection: the caller's `ready()` answer is stale, and its
        // createConfirmChannel fails; the chunk then opens again on the new one.
        resolve();
      };
      this.#declaredWaiters.push(wake);
    });
  }

  async #open(deadline: number, destination: string, timeoutMs: number): Promise<ConfirmTracker> {
    const remaining = deadline - performance.now();
    if (remaining <= 0) throw new PublishTimeoutError(destination, timeoutMs);
    const signal = AbortSignal.any([AbortSignal.timeout(Math.ceil(remaining)), this.#closing.signal]);
    let channel: ClientConfirmChannel;
    try {
      const connection = await this.#connection.ready(signal);
      await this.#declared(connection, signal);
      channel = await connection.createConfirmChannel();
    } catch (error) {
      if (this.#closing.signal.aborted) throw new PusherClosedError(destination);
      if (signal.aborted) throw new PublishTimeoutError(destination, timeoutMs, { cause: error });
      throw error;
    }
    if (this.#exchange !== '') {
      try {
        await channel.checkExchange(this.#exchange);
      } catch (error) {
        if ((error as { code?: unknown }).code === NOT_FOUND) {
          throw new UnroutableError(destination, `exchange "${this.#exchange}" not found`, { cause: error });
        }
        throw error;
      }
    }
    if (this.#closing.signal.aborted) {
      await channel.close().catch(() => {});
      throw new PusherClosedError(destination);
    }
    const tracker = new ConfirmTracker(channel, this.#tracking);
    this.#channel = channel;
    this.#tracker = tracker;
    this.#logger.debug({ exchange: this.#exchange }, 'AMQP pusher channel open');
    return tracker;
  }
}
