import {
  backoffDelay,
  consoleLogger,
  InvalidOptionError,
  type Logger,
  type RetryOptions,
  type RetryPolicy,
  sleep,
} from '@q/core';
import { duration, safeLogger, settledWithin, whenAborted } from '@q/core/internal';
import { amqplibClient } from './amqplib-client.js';
import type { AmqpClient, ClientConnection } from './client.js';
import { connectionSettings, redacted } from './connection-settings.js';
import { AmqpConnectionClosedError } from './errors.js';

/** Options of an {@link AmqpConnection}. */
export interface AmqpConnectionOptions {
  /** The broker, `amqp://user:password@host:port/vhost` (or `amqps://`). */
  url: string;
  /**
   * Heartbeat timeout asked of the broker, in seconds (the broker may lower it). A connection from
   * which nothing arrived for 1.5 timeouts is taken for dead and replaced.
   * @default 10
   */
  heartbeatSeconds?: number;
  /**
   * Back-off between reconnect attempts (full jitter). `attempts` is ignored: the connection
   * reconnects until it is closed.
   * @default { minDelayMs: 100, maxDelayMs: 10000, factor: 2, jitter: true }
   */
  reconnect?: RetryOptions;
  /**
   * Give up one connect attempt (TCP and the AMQP handshake) after this long, in milliseconds.
   * @default 10000
   */
  connectTimeoutMs?: number;
  /**
   * How long `close()` waits for the broker's close handshake before dropping the socket, in ms.
   * @default 5000
   */
  closeTimeoutMs?: number;
  /**
   * The connection's name on the broker (`rabbitmqctl list_connections name`).
   * @default none
   */
  name?: string;
  /**
   * Where connects, losses and failed setups are reported.
   * @default consoleLogger
   */
  logger?: Logger;
  /**
   * The client library behind the connection.
   * @default amqplibClient()
   */
  client?: AmqpClient;
}

/** A registered setup (an object per call, so the same function may be registered twice). */
interface SetupEntry {
  readonly run: (connection: ClientConnection) => Promise<void>;
}

/** A pending {@link AmqpConnection.ready}. */
interface Waiter {
  readonly resolve: (connection: ClientConnection) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * One AMQP connection that stays up: it connects at construction, and after any loss reconnects
 * with back-off and runs every registered setup again (declare topology, open channels, consume),
 * in registration order. Channels, consumers and confirms live on one underlying connection only:
 * whoever opens them in a setup rebuilds them in the next, and treats what was in flight as lost
 * (unconfirmed publishes are unknown, unacked deliveries are redelivered by the broker).
 *
 * ```ts
 * await using connection = new AmqpConnection({ url: 'amqp://127.0.0.1' });
 * connection.onConnect(async (c) => { const ch = await c.createChannel(); await declareQueue(ch, { name: 'jobs' }); });
 * ```
 */
export class AmqpConnection {
  readonly #url: string;
  readonly #heartbeatSeconds: number;
  readonly #connectTimeoutMs: number;
  readonly #closeTimeoutMs: number;
  readonly #name: string | undefined;
  readonly #retry: RetryPolicy;
  readonly #logger: Logger;
  readonly #client: AmqpClient;
  readonly #setups = new Set<SetupEntry>();
  readonly #disconnectListeners = new Set<{ readonly listener: (cause: Error) => void }>();
  readonly #waiters = new Set<Waiter>();
  readonly #stop = new AbortController();
  /** The connection open now, set up or not. */
  #current: ClientConnection | undefined;
  /** The connection once every setup ran on it. */
  #live: ClientConnection | undefined;
  #closing: Promise<void> | undefined;
  readonly #loop: Promise<void>;

  /** Validates `options` (throwing `InvalidOptionError`) and starts connecting. */
  constructor(options: AmqpConnectionOptions) {
    const settings = connectionSettings(options);
    this.#url = settings.url;
    this.#heartbeatSeconds = settings.heartbeatSeconds;
    this.#connectTimeoutMs = settings.connectTimeoutMs;
    this.#closeTimeoutMs = settings.closeTimeoutMs;
    this.#name = settings.name;
    this.#retry = settings.reconnect;
    this.#logger = safeLogger(options.logger ?? consoleLogger);
    this.#client = options.client ?? amqplibClient();
    this.#loop = this.#run();
  }

  /** Whether a connection is open and every setup ran on it. */
  get connected(): boolean {
    return this.#live !== undefined;
  }

  /**
   * Registers `setup`, run with the live connection after every (re)connect, in registration order,
   * before {@link AmqpConnection.ready} resolves. Runs at once when connected now. A setup that
   * throws is reported and closes the connection, which reconnects with back-off. Returns the
   * function that unregisters it.
   */
  onConnect(setup: (connection: ClientConnection) => Promise<void>): () => void {
    if (typeof setup !== 'function') throw new InvalidOptionError('setup', setup, 'a function');
    const entry: SetupEntry = { run: setup };
    this.#setups.add(entry);
    const live = this.#live;
    if (live !== undefined) void this.#runSetup(live, entry);
    return () => {
      this.#setups.delete(entry);
    };
  }

  /**
   * Registers `listener`, called with the cause whenever an open connection ends: lost (the
   * broker closed it, a socket error, missed heartbeats), replaced after a failed setup, or closed
   * by `close()` (cause {@link AmqpConnectionClosedError}). A listener that throws is reported.
   * Returns the function that unregisters it.
   */
  onDisconnect(listener: (cause: Error) => void): () => void {
    if (typeof listener !== 'function') throw new InvalidOptionError('listener', listener, 'a function');
    const entry = { listener };
    this.#disconnectListeners.add(entry);
    return () => {
      this.#disconnectListeners.delete(entry);
    };
  }

  /**
   * The live connection, at once when connected, else once a (re)connect and its setups are done.
   * Rejects with `signal.reason` when `signal` aborts first, and with
   * {@link AmqpConnectionClosedError} once the connection is closed.
   */
  ready(signal?: AbortSignal): Promise<ClientConnection> {
    if (this.#live !== undefined) return Promise.resolve(this.#live);
    if (this.#closing !== undefined) return Promise.reject(new AmqpConnectionClosedError());
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<ClientConnection>((resolve, reject) => {
      let cancel = (): void => {};
      const waiter: Waiter = {
        resolve: (connection) => {
          cancel();
          resolve(connection);
        },
        reject: (error) => {
          cancel();
          reject(error);
        },
      };
      this.#waiters.add(waiter);
      if (signal !== undefined) {
        cancel = whenAborted(signal, () => {
          this.#waiters.delete(waiter);
          reject(signal.reason);
        });
      }
    });
  }

  /**
   * Stops reconnecting and closes the connection: the broker's close handshake, or the socket
   * dropped after `closeTimeoutMs`. Pending {@link AmqpConnection.ready} calls reject. A connect
   * attempt under way is abandoned (closed when it completes, within `connectTimeoutMs`); close
   * waits for it at most `closeTimeoutMs`. Idempotent (a second call's `timeoutMs` is ignored).
   * @param options.timeoutMs this close's deadline instead of `closeTimeoutMs`.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    let timeoutMs: number;
    try {
      timeoutMs = options.timeoutMs === undefined ? this.#closeTimeoutMs : duration('timeoutMs', options.timeoutMs, 0);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#stop.abort();
    const closed = new AmqpConnectionClosedError();
    for (const waiter of this.#waiters) waiter.reject(closed);
    this.#waiters.clear();
    const current = this.#current;
    const deadline = performance.now() + timeoutMs;
    this.#closing = (async () => {
      if (current !== undefined) await this.#shut(current, timeoutMs);
      await settledWithin(this.#loop, Math.max(0, deadline - performance.now()));
    })();
    return this.#closing;
  }

  /** {@link AmqpConnection.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Connects, sets up, waits for the loss, and again, until closed. */
  async #run(): Promise<void> {
    let failures = 0;
    const stopped = this.#stop.signal;
    while (!stopped.aborted) {
      if (failures > 0) await sleep(backoffDelay(this.#retry, failures), stopped);
      if (stopped.aborted) break;
      let connection: ClientConnection;
      try {
        connection = await this.#client.connect(this.#url, {
          heartbeatSeconds: this.#heartbeatSeconds,
          connectTimeoutMs: this.#connectTimeoutMs,
          ...(this.#name === undefined ? {} : { connectionName: this.#name }),
        });
      } catch (error) {
        failures += 1;
        this.#logger.warn({ err: error, url: redacted(this.#url), attempt: failures }, 'AMQP connect failed; retrying');
        continue;
      }
      if (stopped.aborted) {
        await this.#shut(connection);
        break;
      }
      const lost = closedOf(connection, this.#logger);
      this.#current = connection;
      const ready = await this.#setUp(connection, lost);
      if (ready) {
        failures = 0;
        this.#live = connection;
        this.#logger.info({ url: redacted(this.#url) }, 'AMQP connected');
        for (const waiter of this.#waiters) waiter.resolve(connection);
        this.#waiters.clear();
      }
      const cause = await lost.promise;
      this.#live = undefined;
      this.#current = undefined;
      // A loss right after connecting must not turn into a tight reconnect loop: always back off a little.
      failures = Math.max(failures + (ready ? 0 : 1), 1);
      const reported = stopped.aborted ? new AmqpConnectionClosedError() : cause;
      if (!stopped.aborted)
        this.#logger.warn({ err: cause, url: redacted(this.#url) }, 'AMQP connection lost; reconnecting');
      for (const { listener } of this.#disconnectListeners) {
        try {
          listener(reported);
        } catch (error) {
          this.#logger.error({ err: error }, 'an AMQP onDisconnect listener threw');
        }
      }
    }
  }

  /** Runs every setup on `connection`; false (and the connection closing) when one failed. */
  async #setUp(connection: ClientConnection, lost: Lost): Promise<boolean> {
    // A Set's iteration also visits setups registered while it runs.
    for (const entry of this.#setups) {
      if (lost.closed || this.#stop.signal.aborted) return false;
      if (!(await this.#runSetup(connection, entry, lost))) return false;
    }
    return !lost.closed && !this.#stop.signal.aborted;
  }

  /** Runs one setup; on failure reports it and closes `connection` (the loop reconnects). */
  async #runSetup(connection: ClientConnection, entry: SetupEntry, lost?: Lost): Promise<boolean> {
    try {
      await entry.run(connection);
      return true;
    } catch (error) {
      // A setup failing because the connection went is part of that loss, not a failure of its own.
      if (lost?.closed !== true && this.#current === connection && !this.#stop.signal.aborted) {
        this.#logger.error({ err: error }, 'an AMQP onConnect setup failed; reconnecting');
        void this.#shut(connection);
      }
      return false;
    }
  }

  /** Closes `connection` with the handshake, or drops its socket after `closeTimeoutMs`. */
  async #shut(connection: ClientConnection, timeoutMs = this.#closeTimeoutMs): Promise<void> {
    const closing = connection.close().catch(() => {});
    if (!(await settledWithin(closing, timeoutMs))) connection.destroy();
  }
}

/** Whether (and why) a connection closed. */
interface Lost {
  closed: boolean;
  readonly promise: Promise<Error>;
}

/** Watches `connection` for its end (logging its errors and flow control on the way). */
function closedOf(connection: ClientConnection, logger: Logger): Lost {
  let resolveLost: (cause: Error) => void = () => {};
  const lost: Lost = { closed: false, promise: new Promise<Error>((resolve) => (resolveLost = resolve)) };
  connection.on('error', (error: Error) => logger.debug({ err: error }, 'AMQP connection error'));
  connection.on('blocked', (reason: string) =>
    logger.warn({ reason }, 'RabbitMQ blocked this connection (resource alarm): publishes wait'),
  );
  connection.on('unblocked', () => logger.info({}, 'RabbitMQ unblocked this connection'));
  connection.on('close', (error?: Error) => {
    lost.closed = true;
    resolveLost(error ?? new Error('connection closed'));
  });
  return lost;
}
