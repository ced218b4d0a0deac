import net from 'node:net';
import tls from 'node:tls';
import type { ISocketFactory } from 'kafkajs';
import { alignFrames } from './frame-aligner.js';

/**
 * The sockets of one kafkajs client, so they can be destroyed at once. kafkajs can only disconnect
 * politely, which waits for every request in flight: against a broker that stopped answering that
 * is the request timeout times the retries, and a stop past its deadline must not wait for it.
 */
export class SocketRegistry {
  readonly #open = new Set<net.Socket>();
  readonly #route: BrokerRoute | undefined;
  #destroyed = false;

  /** @param route where to connect instead of the address a broker advertises (see {@link BrokerRoute}). */
  constructor(route?: BrokerRoute) {
    this.#route = route;
  }

  /**
   * kafkajs's own socket factory (same keep-alive, TLS server name), remembering each socket, whose
   * `data` events carry whole frames only (see {@link alignFrames}: kafkajs 2.2.4 would otherwise read a
   * reconnected socket's answers after the half answer a cut one left). Once
   * {@link destroy}ed it opens nothing: a connect fails at once, so a client still retrying cannot
   * reopen a connection nobody will close.
   */
  readonly factory: ISocketFactory = ({ host: advertisedHost, port: advertisedPort, ssl, onConnect }) => {
    if (this.#destroyed) throw new Error('client destroyed: no new connections');
    const { host, port } = this.#route?.({ host: advertisedHost, port: advertisedPort }) ?? {
      host: advertisedHost,
      port: advertisedPort,
    };
    const socket = alignFrames(
      ssl
        ? tls.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }), ...ssl }, onConnect)
        : net.connect({ host, port }, onConnect),
    );
    socket.setKeepAlive(true, 60_000);
    this.#open.add(socket);
    socket.once('close', () => this.#open.delete(socket));
    return socket;
  };

  /** Destroys every open socket (their requests fail at once) and refuses new ones from now on. */
  destroy(): void {
    this.#destroyed = true;
    // With an error: kafkajs only listens for 'end' and 'error', and a socket destroyed quietly
    // would leave its requests in flight and its request queue's timers running for good.
    for (const socket of this.#open)
      socket.destroy(new Error('connection destroyed: the client gave up on the broker'));
    this.#open.clear();
  }
}

/**
 * Maps a broker's advertised address to the one to connect to. Brokers tell clients their addresses
 * in Metadata, so a proxy in front of a broker is only used for every connection when the client is
 * sent there on each connect: what the tests' fault-injecting TCP proxy needs.
 */
export type BrokerRoute = (advertised: { host: string; port: number }) => { host: string; port: number };
