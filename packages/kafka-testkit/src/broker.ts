import { createServer, type Server, type Socket } from 'node:net';
import type { ApiDefinition, RequestContext } from './api.js';
import type { BrokerHost } from './broker-host.js';
import { MalformedRequestError, Reader } from './protocol/reader.js';
import { Writer } from './protocol/writer.js';

/** Largest request frame accepted; bigger ones close the connection (Kafka's socket.request.max.bytes). */
const MAX_REQUEST_BYTES = 100 * 1024 * 1024;

/** One broker of the cluster: a TCP listener on loopback that serves requests one at a time per connection. */
export class Broker {
  /** The broker's node id (0, 1, ... in cluster order). */
  readonly id: number;
  /** The address it listens on. */
  readonly host: string;
  #port: number;
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  readonly #controllers = new Set<AbortController>();
  readonly #cluster: BrokerHost;

  constructor(cluster: BrokerHost, id: number, host: string, port: number) {
    this.#cluster = cluster;
    this.id = id;
    this.host = host;
    this.#port = port;
  }

  /** The port it listens on (picked at the first start when it was 0, then kept). */
  get port(): number {
    return this.#port;
  }

  /** Whether it is listening (started and not stopped). */
  get up(): boolean {
    return this.#server !== undefined;
  }

  /** Starts listening (on the same port as before after a restart). */
  async start(): Promise<void> {
    if (this.#server !== undefined) return;
    const server = createServer((socket) => this.#serve(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    if (typeof address === 'object' && address !== null) this.#port = address.port;
    this.#server = server;
  }

  /** Stops listening and drops every connection; the cluster's data is kept. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    this.dropConnections();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Destroys every open connection (clients reconnect). */
  dropConnections(): void {
    for (const c of this.#controllers) c.abort();
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
  }

  #serve(socket: Socket): void {
    this.#sockets.add(socket);
    socket.setNoDelay(true);
    const controller = new AbortController();
    this.#controllers.add(controller);
    let pending: Buffer = Buffer.alloc(0);
    const frames: Buffer[] = [];
    let busy = false;
    const close = (): void => {
      controller.abort();
      this.#controllers.delete(controller);
      this.#sockets.delete(socket);
      socket.destroy();
    };
    const pump = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      try {
        for (let frame = frames.shift(); frame !== undefined; frame = frames.shift()) {
          if (controller.signal.aborted) return;
          const response = await this.#handle(frame, controller.signal, socket);
          if (response === 'close') return close();
          if (response !== undefined && !socket.destroyed) socket.write(response);
        }
      } catch (error) {
        this.#cluster.log(`broker ${this.id}: ${(error as Error).message}`);
        close();
      } finally {
        busy = false;
      }
    };
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 4) {
        const size = pending.readInt32BE(0);
        if (size < 0 || size > MAX_REQUEST_BYTES) return close();
        if (pending.length < 4 + size) break;
        frames.push(pending.subarray(4, 4 + size));
        pending = pending.subarray(4 + size);
      }
      void pump();
    });
    socket.on('error', () => close());
    socket.on('close', () => close());
  }

  /** Decodes one frame, runs faults and the handler; returns the framed response, nothing, or "close". */
  async #handle(frame: Buffer, signal: AbortSignal, socket: Socket): Promise<Buffer | undefined | 'close'> {
    const cluster = this.#cluster;
    const header = new Reader(frame);
    let apiKey: number;
    let version: number;
    let correlationId: number;
    let clientId: string | null;
    try {
      apiKey = header.int16();
      version = header.int16();
      correlationId = header.int32();
      clientId = header.nullableString();
    } catch {
      return 'close';
    }
    const api: ApiDefinition | undefined = cluster.api(apiKey);
    // ApiVersions v3+ uses the flexible header v2; librdkafka tries it first and expects a v0-format
    // rejection (UNSUPPORTED_VERSION) so it can fall back.
    if (apiKey === 18 && version > (api?.maxVersion ?? 2)) {
      const w = new Writer().int16(35).array(cluster.advertised(), (x, a) => x.int16(a.key).int16(a.min).int16(a.max));
      return frameResponse(correlationId, w);
    }
    if (api === undefined) return 'close';
    if (version < api.minImplemented || version > api.maxVersion) return 'close';
    const fault = await cluster.faultFor(
      this,
      { apiKey, version, clientId, body: frame.subarray(header.offset) },
      signal,
    );
    if (fault === 'close' || fault === 'black-hole') return fault === 'close' ? 'close' : await blackHole(signal);
    const ctx: RequestContext = {
      apiKey,
      version,
      correlationId,
      clientId,
      body: header,
      cluster,
      broker: this,
      signal,
    };
    let body: Writer | null;
    try {
      body = await api.handle(ctx);
    } catch (error) {
      if (error instanceof MalformedRequestError || error instanceof RangeError) {
        cluster.log(`broker ${this.id}: malformed ${api.name} v${version}: ${error.message}`);
        return 'close';
      }
      throw error;
    }
    // With a data directory, nothing is acknowledged before it is stored (a failed write closes the
    // connection: the client retries).
    const durable = cluster.durable();
    if (durable !== undefined) await durable;
    if (body === null) return undefined;
    const response = frameResponse(correlationId, body);
    if (fault === 'close-mid-response') {
      socket.write(response.subarray(0, Math.max(1, response.length >> 1)));
      return 'close';
    }
    return response;
  }
}

function frameResponse(correlationId: number, body: Writer): Buffer {
  const payload = body.toBuffer();
  const out = Buffer.allocUnsafe(8 + payload.length);
  out.writeInt32BE(4 + payload.length, 0);
  out.writeInt32BE(correlationId, 4);
  payload.copy(out, 8);
  return out;
}

/** Never answers; ends when the connection does. */
function blackHole(signal: AbortSignal): Promise<'close'> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve('close');
    signal.addEventListener('abort', () => resolve('close'), { once: true });
  });
}
