import { settledWithin } from '@q/core/internal';
import type { Cluster, Redis } from 'ioredis';

/** The error a blocking command gets when its connection closes before the reply. */
export class BlockingConnectionClosedError extends Error {
  constructor() {
    super('the blocking connection closed before the reply');
    this.name = 'BlockingConnectionClosedError';
  }
}

function isCluster(redis: Redis | Cluster): redis is Cluster {
  return (redis as Cluster).isCluster === true;
}

/**
 * A producer's own connection for blocking reads (`BLMOVE`, `BLMPOP`), a duplicate of the client.
 *
 * - It never re-sends a blocking command after a reconnect (`autoResendUnfulfilledCommands: false`):
 *   a re-sent `BLMOVE` could move a message long after its consumer was recovered, into a staging
 *   list nobody reads any more. ioredis then drops the unanswered command without settling its
 *   promise, so {@link run} settles it itself, with {@link BlockingConnectionClosedError}, when the
 *   connection closes. Whether the server ran it is unknown: a moved message sits in the staging list,
 *   which the next claim (or recovery) empties.
 * - Closing first ends a blocking command that is waiting ({@link interrupt}: `CLIENT UNBLOCK`, sent
 *   on the main connection with this connection's id, asked with `CLIENT ID` on every connect), so
 *   whatever it took is known before the producer hands its messages back; it also kills (`CLIENT
 *   KILL ID`) the server side of this connection's earlier incarnations, which a half-open path can
 *   leave blocked in a BLMOVE. On a Cluster (where the
 *   main client cannot address that node's connection) the command is waited for instead: at most
 *   `blockTimeoutMs`.
 */
export class BlockingConnection {
  readonly connection: Redis | Cluster;
  readonly #main: Redis | Cluster;
  /** This connection's `CLIENT ID`, while it is known to be current. */
  #clientId: number | undefined;
  /**
   * Ids this connection had before its last reconnects. The client saw those connections close, but
   * the server may not have (a half-open path): a BLMOVE it still holds could move a message long
   * after close() handed this consumer's messages back. close() kills them.
   */
  readonly #formerIds = new Set<number>();
  /** Rejects the blocking commands in flight when the connection closes. */
  #rejectOnClose = new Set<(error: Error) => void>();
  /** The blocking command in flight, settled either way. */
  #pending: Promise<void> | undefined;

  constructor(main: Redis | Cluster) {
    this.#main = main;
    this.connection = isCluster(main)
      ? main.duplicate([], {
          redisOptions: { ...main.options.redisOptions, autoResendUnfulfilledCommands: false },
        })
      : main.duplicate({ autoResendUnfulfilledCommands: false });
    this.connection.on('close', () => {
      if (this.#clientId !== undefined) this.#formerIds.add(this.#clientId);
      this.#clientId = undefined;
      const error = new BlockingConnectionClosedError();
      for (const reject of this.#rejectOnClose) reject(error);
      this.#rejectOnClose.clear();
    });
    if (!isCluster(this.connection)) {
      const connection = this.connection;
      // 'connect' (not 'ready'): CLIENT is a handshake command, sent before ioredis flushes its
      // offline queue on ready, so it is never stuck behind a blocking command of ours.
      connection.on('connect', () => {
        connection.client('ID').then(
          (id) => {
            if (connection.status === 'connect' || connection.status === 'ready') this.#clientId = Number(id);
          },
          () => {},
        );
      });
    }
  }

  /** Runs one blocking command; rejects with {@link BlockingConnectionClosedError} if the connection closes first. */
  run<T>(command: (connection: Redis | Cluster) => Promise<T>): Promise<T> {
    let reject!: (error: Error) => void;
    const closed = new Promise<never>((_, r) => {
      reject = r;
    });
    this.#rejectOnClose.add(reject);
    const reply = Promise.race([command(this.connection), closed]).finally(() => this.#rejectOnClose.delete(reject));
    const pending = reply.then(
      () => {},
      () => {},
    );
    this.#pending = pending;
    void pending.then(() => {
      if (this.#pending === pending) this.#pending = undefined;
    });
    return reply;
  }

  /**
   * Ends the blocking command in flight, if any (it replies as if it timed out, unless it already
   * took something), and resolves once it settled; `false` if it did not settle within `timeoutMs`.
   */
  async interrupt(timeoutMs: number): Promise<boolean> {
    if (!isCluster(this.#main)) {
      // "No such client" for a connection the server did close: nothing to do then.
      // Bounded like the rest: with Redis not answering these wait in ioredis's offline queue.
      const kills = [...this.#formerIds].map((id) => this.#main.client('KILL', 'ID', String(id)).catch(() => {}));
      this.#formerIds.clear();
      await settledWithin(Promise.all(kills), timeoutMs);
    }
    const pending = this.#pending;
    if (pending === undefined) return true;
    const id = this.#clientId;
    if (id !== undefined && !isCluster(this.#main)) {
      await settledWithin(
        this.#main.client('UNBLOCK', id).catch(() => {}),
        timeoutMs,
      );
    }
    return settledWithin(pending, timeoutMs);
  }

  disconnect(): void {
    this.connection.disconnect();
  }
}
