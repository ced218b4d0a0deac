import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

/** Where a {@link TcpProxy} forwards to. */
export interface TcpProxyOptions {
  /** The server's port. */
  port: number;
  /**
   * The server's host. Tests only ever use loopback servers.
   * @default "127.0.0.1"
   */
  host?: string;
}

/** One client connection and its connection to the server. */
interface Link {
  readonly client: Socket;
  readonly server: Socket;
}

/** A pending {@link TcpProxy.dropNextReply}. */
interface ReplyDrop {
  readonly matches: (chunk: Buffer) => boolean;
  readonly resolve: () => void;
}

/**
 * A loopback TCP proxy that injects the faults a network makes, between a client library and a
 * real server, without knowing the protocol:
 *
 * - {@link TcpProxy.dropNextReply}: the server's answer to a request is lost. A TCP stream cannot lose
 *   bytes and go on, so the proxy cuts the connection (both sides) at the moment the matching data
 *   would reach the client: the request ran on the server, its reply never arrived.
 * - {@link TcpProxy.dropConnections}: every open connection is cut at once (a restart of a middlebox).
 * - {@link TcpProxy.stall} / {@link TcpProxy.resume}: nothing is forwarded in either direction, and
 *   nothing is closed either (a partition, or a peer that stopped reading); TCP's flow control
 *   pushes back on both ends. Connections opened while stalled are accepted and held too.
 *
 * ```ts
 * const proxy = await startTcpProxy({ port: redisPort });
 * const redis = new Redis(`redis://127.0.0.1:${proxy.port}`);
 * proxy.dropNextReply((chunk) => chunk.includes('m1'));
 * ```
 */
export class TcpProxy {
  /** The proxy's address: always loopback. */
  readonly host = '127.0.0.1';
  readonly #server: Server;
  readonly #target: Required<TcpProxyOptions>;
  readonly #links = new Set<Link>();
  readonly #halfOpen = new Set<Socket>();
  #drops: ReplyDrop[] = [];
  #stalled = false;
  #droppedReplies = 0;

  /** Use {@link startTcpProxy}, which also waits until the proxy listens. */
  constructor(options: TcpProxyOptions) {
    this.#target = { host: options.host ?? '127.0.0.1', port: options.port };
    this.#server = createServer((client) => this.#accept(client));
  }

  /** The port the proxy listens on (chosen by the system). */
  get port(): number {
    const address = this.#server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  /** Client connections open now. */
  get connections(): number {
    return this.#links.size;
  }

  /** How many replies {@link TcpProxy.dropNextReply} has dropped so far. */
  get droppedReplies(): number {
    return this.#droppedReplies;
  }

  /** Whether forwarding is stalled. */
  get stalled(): boolean {
    return this.#stalled;
  }

  /**
   * Drops the next data from the server, on any connection, for which `matches` holds: that
   * chunk is not forwarded and its connection is cut on both sides. Chunks are what the socket read
   * (a reply may span several), so match on something short that one chunk surely holds. Several
   * pending drops each take one matching chunk, in the order they were asked for.
   *
   * @returns a promise that resolves once the reply was dropped.
   */
  dropNextReply(matches: (chunk: Buffer) => boolean): Promise<void> {
    return new Promise((resolve) => this.#drops.push({ matches, resolve }));
  }

  /** Cuts every open connection now; new ones are accepted as usual. */
  dropConnections(): void {
    for (const link of [...this.#links]) this.#cut(link);
  }

  /** Stops forwarding in both directions, without closing anything, until {@link TcpProxy.resume}. */
  stall(): void {
    this.#stalled = true;
    for (const { client, server } of this.#links) {
      client.pause();
      server.pause();
    }
  }

  /** Forwards again what was held back by {@link TcpProxy.stall}, then everything that follows. */
  resume(): void {
    this.#stalled = false;
    for (const { client, server } of this.#links) {
      client.resume();
      server.resume();
    }
  }

  /**
   * Makes connections half-open: for each link whose server-side socket has a local port for which
   * `matches` holds, the client side is reset while the server side stays connected and silent (as
   * when a path dies without the server noticing). Returns how many links it did this to.
   */
  halfOpen(matches: (serverSideLocalPort: number) => boolean): number {
    let n = 0;
    for (const link of [...this.#links]) {
      if (link.server.localPort === undefined || !matches(link.server.localPort)) continue;
      this.#links.delete(link);
      this.#halfOpen.add(link.server);
      link.server.removeAllListeners('data');
      link.client.destroy();
      n++;
    }
    return n;
  }

  /** Stops listening and cuts every connection, half-open ones included. */
  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.dropConnections();
    for (const socket of this.#halfOpen) socket.destroy();
    this.#halfOpen.clear();
    return closed;
  }

  /** @internal Starts listening on a free loopback port. */
  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, this.host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
  }

  #accept(client: Socket): void {
    const server = tcpConnect(this.#target);
    const link: Link = { client, server };
    this.#links.add(link);
    if (this.#stalled) {
      client.pause();
      server.pause();
    }
    client.on('data', (chunk: Buffer) => this.#forward(link, client, server, chunk));
    server.on('data', (chunk: Buffer) => {
      const drop = this.#drops.findIndex((d) => d.matches(chunk));
      if (drop === -1) return this.#forward(link, server, client, chunk);
      const [{ resolve }] = this.#drops.splice(drop, 1) as [ReplyDrop];
      this.#droppedReplies++;
      this.#cut(link);
      resolve();
    });
    // Either side ending, failing or closing takes the whole link down, as a real path would.
    for (const socket of [client, server]) {
      socket.on('error', () => this.#cut(link));
      socket.on('close', () => this.#cut(link));
      socket.on('end', () => this.#cut(link));
    }
  }

  #forward(link: Link, from: Socket, to: Socket, chunk: Buffer): void {
    if (!this.#links.has(link)) return;
    if (to.write(chunk)) return;
    // Back-pressure: read no more until the other side drained (and only then if not stalled).
    from.pause();
    to.once('drain', () => {
      if (!this.#stalled) from.resume();
    });
  }

  #cut(link: Link): void {
    if (!this.#links.delete(link)) return;
    link.client.destroy();
    link.server.destroy();
  }
}

/** Starts a {@link TcpProxy} on a free loopback port, forwarding to `options`' server. */
export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const proxy = new TcpProxy(options);
  await proxy.listen();
  return proxy;
}
