import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { type ChannelModel, connect } from 'amqplib';
import type {
  AmqpClient,
  ClientChannel,
  ClientConfirmChannel,
  ClientConnection,
  ClientConnectOptions,
} from './client.js';
import { HeartbeatTimeoutError } from './errors.js';

/**
 * The {@link AmqpClient} on amqplib (the only module that imports it). amqplib's own recovery is
 * not used: {@link AmqpConnection} runs the reconnect loop, so that channels, consumers and
 * unconfirmed publishes are rebuilt and reported by the code that owns them.
 *
 * Besides amqplib's heartbeat (which notices a silent peer after two to three intervals), each
 * connection gets a watchdog that closes it once nothing at all arrived for 1.5 heartbeat timeouts:
 * RabbitMQ aims at a heartbeat every half timeout (gaps of up to 0.84 timeouts were measured on an
 * idle 3.10), so a live broker is never that quiet, and a half-open connection is noticed within
 * two timeouts.
 */
export function amqplibClient(): AmqpClient {
  return { connect: connectAmqplib };
}

async function connectAmqplib(url: string, options: ClientConnectOptions): Promise<ClientConnection> {
  const model = await connect(withHeartbeat(url, options.heartbeatSeconds), {
    // An idle timeout while connecting only: amqplib clears it once the connection is open.
    timeout: options.connectTimeoutMs,
    noDelay: true,
    clientProperties: options.connectionName === undefined ? {} : { connection_name: options.connectionName },
  });
  return new AmqplibConnection(model);
}

/** `url` with `heartbeat` set in its query (amqplib reads it from there). */
function withHeartbeat(url: string, heartbeatSeconds: number): string {
  const parsed = new URL(url);
  parsed.searchParams.set('heartbeat', String(heartbeatSeconds));
  return parsed.toString();
}

/** amqplib's connection internals the watchdog reads: the socket and the negotiated heartbeat. */
interface Internals {
  readonly stream?: Socket;
  readonly heartbeat?: number;
}

/** amqplib's ChannelModel behind {@link ClientConnection}, with the silence watchdog and `destroy`. */
class AmqplibConnection implements ClientConnection {
  readonly #model: ChannelModel;
  readonly #socket: Socket | undefined;
  readonly #stopWatchdog: () => void;

  constructor(model: ChannelModel) {
    this.#model = model;
    const internals = model.connection as unknown as Internals;
    this.#socket = internals.stream;
    // amqplib throws out of its frame loop an 'error' nobody listens to.
    model.on('error', () => {});
    const heartbeat = internals.heartbeat ?? 0;
    this.#stopWatchdog =
      heartbeat > 0 && this.#socket !== undefined
        ? watchSilence(this.#socket, heartbeat, (silentMs) =>
            this.#socket?.destroy(new HeartbeatTimeoutError(silentMs)),
          )
        : () => {};
    model.on('close', () => {
      this.#stopWatchdog();
      // amqplib only ends the socket: on a half-open connection its handle would stay open.
      this.#socket?.destroy();
    });
  }

  async createChannel(): Promise<ClientChannel> {
    return quiet(await this.#model.createChannel());
  }

  async createConfirmChannel(): Promise<ClientConfirmChannel> {
    return quiet(await this.#model.createConfirmChannel());
  }

  close(): Promise<void> {
    return this.#model.close();
  }

  destroy(): void {
    this.#stopWatchdog();
    // With an error, so that amqplib (listening for 'error' and 'end', not 'close') sees it closed.
    this.#socket?.destroy(new Error('connection destroyed by the client'));
  }

  on(event: string, listener: (...args: never[]) => void): this {
    this.#model.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  removeListener(event: string, listener: (...args: never[]) => void): this {
    this.#model.removeListener(event, listener as (...args: unknown[]) => void);
    return this;
  }
}

/** `channel` with an 'error' listener, so that a channel closed by the server never throws. */
function quiet<C extends { on(event: 'error', listener: (error: Error) => void): unknown }>(channel: C): C {
  channel.on('error', () => {});
  return channel;
}

/**
 * Calls `onDead` once nothing was read from `socket` for 1.5 heartbeat timeouts, checking every
 * quarter timeout. A check that runs late (the event loop was blocked) proves nothing about the
 * peer, so it restarts the count. Returns the function that stops watching.
 */
function watchSilence(socket: Socket, heartbeatSeconds: number, onDead: (silentMs: number) => void): () => void {
  const limitMs = heartbeatSeconds * 1500;
  const everyMs = heartbeatSeconds * 250;
  let bytes = socket.bytesRead;
  let lastCheck = performance.now();
  let lastProgress = lastCheck;
  const timer = setInterval(() => {
    const now = performance.now();
    if (now - lastCheck > everyMs * 2) lastProgress = now;
    lastCheck = now;
    if (socket.bytesRead !== bytes) {
      bytes = socket.bytesRead;
      lastProgress = now;
    } else if (now - lastProgress > limitMs) {
      clearInterval(timer);
      onDead(Math.round(now - lastProgress));
    }
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
