import type { Server } from 'node:http';
import { type Logger, silentLogger } from '@q/core';
import { listenOnSocket, settledWithin } from '@q/core/internal';
import type { FastifyInstance } from 'fastify';
import type { Outbox } from '../index.js';
import { createProxyApp } from './app.js';
import { ProxyMetrics } from './metrics.js';
import { type OutboxProxyOptions, type ResolvedProxyOptions, resolveProxyOptions } from './options.js';

/** Where a started {@link OutboxProxy} listens. */
export interface ProxyAddresses {
  /** The TCP listener's base URL, such as `http://127.0.0.1:7390`. */
  readonly http: string;
  /** The unix socket's path, when the proxy listens on one. */
  readonly socket?: string;
}

/** Grace given to requests still answering after the outbox closed, before their connections are cut. */
const ANSWER_GRACE_MS = 2000;

/**
 * The HTTP face of an {@link Outbox}, for services not written in Node: one Fastify app on TCP
 * and, optionally, a unix socket (the routes are in docs/outbox.md, "The proxy"). A message is
 * answered 200 only once the outbox's `send` resolved, so only once it is safe.
 *
 * @example
 * ```ts
 * const proxy = new OutboxProxy({ outbox, port: 0, socket: '/run/q-outbox.sock' });
 * const { http } = await proxy.listen();
 * // ... later, on SIGTERM:
 * await proxy.close({ timeoutMs: 10_000 });
 * ```
 */
export class OutboxProxy {
  /** The Fastify app (its `inject()` serves requests without a socket). */
  readonly app: FastifyInstance;
  /** The proxy's metrics, on their own prom-client registry. */
  readonly metrics: ProxyMetrics;
  readonly #options: ResolvedProxyOptions;
  readonly #outbox: Outbox;
  readonly #socketServer: Server;
  readonly #logger: Logger;
  readonly #onSinkDown = (): void => {
    this.#sinkDownSince ??= Date.now();
  };
  readonly #onSinkUp = (): void => {
    this.#sinkDownSince = undefined;
  };
  #sinkDownSince: number | undefined;
  #closing = false;
  #closed: Promise<void> | undefined;

  /** @throws {InvalidOptionError} for options outside their allowed values. */
  constructor(options: OutboxProxyOptions) {
    this.#options = resolveProxyOptions(options);
    this.#outbox = this.#options.outbox;
    this.#logger = this.#options.logger ?? silentLogger;
    this.metrics = new ProxyMetrics(this.#outbox.id, () => this.#outbox.stats());
    const { app, socketServer } = createProxyApp({
      outbox: this.#outbox,
      metrics: this.metrics,
      logger: this.#logger,
      maxBodyBytes: this.#options.maxBodyBytes,
      maxBatchBytes: this.#options.maxBatchBytes,
      maxBatchMessages: this.#options.maxBatchMessages,
      closing: () => this.#closing,
      health: () => this.health(),
    });
    this.app = app;
    this.#socketServer = socketServer;
    this.#outbox.on('sink-down', this.#onSinkDown);
    this.#outbox.on('sink-up', this.#onSinkUp);
  }

  /**
   * Starts listening on TCP and, when configured, on the unix socket.
   * @returns the addresses, with the TCP port picked when `port` was 0
   */
  async listen(): Promise<ProxyAddresses> {
    const { port, host, socket } = this.#options;
    await this.app.listen({ port, host });
    const address = this.app.server.address();
    const bound = typeof address === 'object' && address !== null ? address : { address: host, port };
    const hostPart = bound.address.includes(':') ? `[${bound.address}]` : bound.address;
    const addresses: { http: string; socket?: string } = { http: `http://${hostPart}:${bound.port}` };
    if (socket !== undefined) {
      await listenOnSocket(this.#socketServer, socket);
      addresses.socket = socket;
    }
    return addresses;
  }

  /**
   * The body of `GET /v1/health` and its status: 200 while the proxy takes messages (`status` "ok",
   * or "degraded" while the sink is down), 503 while it closes ("closing") or once the sink has
   * been down longer than `unhealthyAfterSinkDownMs` ("unhealthy").
   */
  health(): { status: number; body: Record<string, unknown> } {
    const stats = this.#outbox.stats();
    let downForMs = 0;
    if (stats.sink === 'down') {
      this.#sinkDownSince ??= Date.now();
      downForMs = Date.now() - this.#sinkDownSince;
    }
    const status = this.#closing
      ? 'closing'
      : downForMs > this.#options.unhealthyAfterSinkDownMs
        ? 'unhealthy'
        : stats.sink === 'down'
          ? 'degraded'
          : 'ok';
    return {
      status: status === 'closing' || status === 'unhealthy' ? 503 : 200,
      body: { status, outbox: this.#outbox.id, ...stats, sinkDownForMs: downForMs },
    };
  }

  /**
   * Stops taking messages (new ones get 503 with Retry-After), closes the outbox within
   * `timeoutMs` (it forwards what it can and keeps the rest in its log for the next start), lets the
   * requests under way answer, and closes the listeners. Calling it again returns the same promise.
   * @param options.timeoutMs @default the `closeTimeoutMs` option
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closed ??= this.#close(options.timeoutMs ?? this.#options.closeTimeoutMs);
    return this.#closed;
  }

  /** Same as {@link OutboxProxy.close} with its default deadline; for `await using proxy = ...`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(timeoutMs: number): Promise<void> {
    this.#closing = true;
    const servers = Promise.all([
      this.app.close(),
      new Promise<void>((resolve) => {
        if (!this.#socketServer.listening) return resolve();
        this.#socketServer.close(() => resolve());
        this.#socketServer.closeIdleConnections();
      }),
    ]);
    try {
      await this.#outbox.close({ timeoutMs });
    } finally {
      this.#outbox.off('sink-down', this.#onSinkDown);
      this.#outbox.off('sink-up', this.#onSinkUp);
      if (!(await settledWithin(servers, ANSWER_GRACE_MS))) {
        this.#logger.warn({ graceMs: ANSWER_GRACE_MS }, 'requests still open after the outbox closed: cutting them');
        this.app.server.closeAllConnections();
        this.#socketServer.closeAllConnections();
      }
      // A listener that failed to close still fails close(), as before.
      await servers;
    }
  }
}
