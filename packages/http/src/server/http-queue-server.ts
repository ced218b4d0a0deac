import type { Server } from 'node:http';
import { type Logger, silentLogger } from '@q/core';
import { listenOnSocket, settledWithin } from '@q/core/internal';
import { TailCacheBudget } from '@q/log';
import type { FastifyInstance } from 'fastify';
import { createHttpApp } from './app.js';
import { HttpQueueMetrics } from './metrics.js';
import { type HttpQueueServerOptions, type ResolvedServerOptions, resolveServerOptions } from './options.js';
import { ServerLock } from './server-lock.js';
import { closingError, TopicRegistry } from './topic-registry.js';

/** Where a started {@link HttpQueueServer} listens. */
export interface HttpQueueAddresses {
  /** The TCP port (the one picked when `port` was 0). */
  readonly port: number;
  /** The TCP listener's base URL, such as `http://127.0.0.1:7391`. */
  readonly http: string;
  /** The unix socket's path, when the server listens on one. */
  readonly socket?: string;
}

/** Grace given to requests still answering after the topics closed, before their connections are cut. */
const ANSWER_GRACE_MS = 2000;

/**
 * `q-http serve` as a class: a persistent queue over HTTP. Messages pushed to a topic are stored
 * durably in the topic's log (answered 201 only once fdatasync'd) and delivered to their URL by the
 * topic's deliverer, with retries, dead letters and replay. OPQ's `/opq/push` and `/opq/replay`
 * and a JSON API (docs/http.md, "The server").
 *
 * @example
 * ```ts
 * const server = new HttpQueueServer({ dir: './data', port: 0 });
 * const { http } = await server.start();
 * // ... later, on SIGTERM:
 * await server.close({ timeoutMs: 10_000 });
 * ```
 */
export class HttpQueueServer {
  /** The Fastify app (its `inject()` serves requests without a socket). */
  readonly app: FastifyInstance;
  /** The server's metrics, on their own prom-client registry. */
  readonly metrics: HttpQueueMetrics;
  /** The topics, opened at start and on their first push. */
  readonly topics: TopicRegistry;
  readonly #options: ResolvedServerOptions;
  readonly #socketServer: Server;
  readonly #logger: Logger;
  #closing = false;
  #lock: Promise<ServerLock> | undefined;
  #closed: Promise<void> | undefined;

  /** @throws {InvalidOptionError} for options outside their allowed values. */
  constructor(options: HttpQueueServerOptions) {
    this.#options = resolveServerOptions(options);
    this.#logger = this.#options.logger ?? silentLogger;
    const tailCacheBudget = new TailCacheBudget(this.#options.tailCacheBytes);
    this.topics = new TopicRegistry({
      dir: this.#options.dir,
      delivery: this.#options.delivery,
      maxTopics: this.#options.maxTopics,
      tailCacheBudget,
      logger: this.#logger,
    });
    this.metrics = new HttpQueueMetrics(
      () => this.topics.topics(),
      () => tailCacheBudget.usedBytes,
    );
    const { app, socketServer } = createHttpApp({
      topics: this.topics,
      metrics: this.metrics,
      logger: this.#logger,
      maxBodyBytes: this.#options.maxBodyBytes,
      closing: () => this.#closing,
      health: () => this.health(),
    });
    this.app = app;
    this.#socketServer = socketServer;
  }

  /**
   * Locks `dir` (one server per directory), opens every topic under `dir/topics` and resumes its
   * delivery (nothing waits for a new push), then listens on TCP and, when configured, on the unix socket.
   * @returns the addresses, with the TCP port picked when `port` was 0
   * @throws {ServerDirLockedError} (code `Q_HTTP_DIR_LOCKED`) when another live server holds `dir`
   */
  async start(): Promise<HttpQueueAddresses> {
    const { port, host, socket } = this.#options;
    if (this.#closing) throw closingError();
    // Before any topic is opened or created: a second server must not share the directory.
    this.#lock = ServerLock.acquire(this.#options.dir, this.#logger);
    await this.#lock;
    const opened = await this.topics.openExisting();
    if (opened.length > 0) this.#logger.info({ topics: opened }, `resumed ${opened.length} topics`);
    await this.app.listen({ port, host });
    const address = this.app.server.address();
    const bound = typeof address === 'object' && address !== null ? address : { address: host, port };
    const hostPart = bound.address.includes(':') ? `[${bound.address}]` : bound.address;
    const addresses: { port: number; http: string; socket?: string } = {
      port: bound.port,
      http: `http://${hostPart}:${bound.port}`,
    };
    if (socket !== undefined) {
      await listenOnSocket(this.#socketServer, socket);
      addresses.socket = socket;
    }
    return addresses;
  }

  /**
   * The body of `GET /v1/health` and its status: 200 "ok" while serving and delivering; 503 "degraded"
   * when a topic's delivery stopped (listed in `stopped`: restart the server) or a topic could not be
   * opened (listed in `failed`, the cause in the log), 503 "closing" once closing.
   */
  health(): {
    /** The HTTP status: 200 or 503. */
    status: number;
    /** The JSON body. */
    body: Record<string, unknown>;
  } {
    const topics = this.topics.topics();
    const stats = topics.map((t) => ({ name: t.name, ...t.deliverer.stats() }));
    const stopped = stats.filter((t) => t.state === 'stopped').map((t) => t.name);
    const failed = [...this.topics.failed().keys()];
    const status = this.#closing ? 'closing' : stopped.length + failed.length > 0 ? 'degraded' : 'ok';
    const body = {
      status,
      topics: topics.length,
      backlog: stats.reduce((sum, t) => sum + t.backlog, 0),
      unfinished: stats.reduce((sum, t) => sum + t.unfinished, 0),
      ...(stopped.length > 0 ? { stopped } : {}),
      ...(failed.length > 0 ? { failed } : {}),
    };
    return { status: status === 'ok' ? 200 : 503, body };
  }

  /**
   * Stops taking messages (new ones get 503 with Retry-After), closes every topic (deliveries under
   * way get `timeoutMs`; what is unfinished is delivered again after the next start, with the same
   * ids), lets requests under way answer, and closes the listeners. Calling it again returns the
   * same promise.
   * @param options.timeoutMs @default the `closeTimeoutMs` option
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closed ??= this.#close(options.timeoutMs ?? this.#options.closeTimeoutMs);
    return this.#closed;
  }

  /** Same as {@link HttpQueueServer.close} with its default deadline; for `await using server = ...`. */
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
      await this.topics.close(timeoutMs);
    } finally {
      if (!(await settledWithin(servers, ANSWER_GRACE_MS))) {
        this.#logger.warn({ graceMs: ANSWER_GRACE_MS }, 'requests still open after the topics closed: cutting them');
        this.app.server.closeAllConnections();
        this.#socketServer.closeAllConnections();
      }
      // A listener that failed to close still fails close(), as before.
      await servers;
      // Last: the next server may open the topics once they are closed.
      await this.#lock?.then(
        (lock) => lock.release(),
        () => undefined,
      );
    }
  }
}

/** A new {@link HttpQueueServer} (not started: call `start()`). */
export function createHttpServer(options: HttpQueueServerOptions): HttpQueueServer {
  return new HttpQueueServer(options);
}
