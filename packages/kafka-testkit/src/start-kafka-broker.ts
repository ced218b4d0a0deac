import { Cluster } from './cluster.js';
import type { ErrorInjectionOptions, KafkaBrokerOptions, RequestHook } from './cluster-options.js';

/** A running test cluster. */
export interface KafkaTestBroker {
  /** `host:port` of every broker, for the client's `brokers` option. */
  readonly bootstrap: string[];
  /** The cluster state and fault controls (leaders, coordinators, groups, injected errors). */
  readonly cluster: Cluster;
  /** Stops every broker; data is kept for `restart()`. Also what an abort of the `signal` does. */
  stop(): Promise<void>;
  /** Same as `stop()`; for `await using broker = await startKafkaBroker()`. */
  [Symbol.asyncDispose](): Promise<void>;
  /** Stops and starts again (all brokers, or one) on the same ports, with data kept. */
  restart(brokerId?: number): Promise<void>;
  /** Stops one broker (clients see it leave Metadata). */
  stopBroker(brokerId: number): Promise<void>;
  /** Starts a stopped broker again. */
  startBroker(brokerId: number): Promise<void>;
  /** Destroys open connections (all brokers, or one); clients reconnect. */
  dropConnections(brokerId?: number): void;
  /**
   * Closes connections after `requests` more requests (of `apiKey`, when given); `midResponse`
   * writes half of the response first. Returns the remover.
   */
  dropAfter(options: { requests: number; apiKey?: number; brokerId?: number; midResponse?: boolean }): () => void;
  /** Delays requests (of `apiKey`, on `brokerId`, when given) by `ms`. Returns the remover. */
  delay(options: { ms: number; apiKey?: number; brokerId?: number }): () => void;
  /** Never answers requests (of `apiKey`, on `brokerId`, when given). Returns the remover. */
  blackHole(options?: { apiKey?: number; brokerId?: number }): () => void;
  /** Fails requests with an error code, once or `times` times. Returns the remover. */
  injectError(options: ErrorInjectionOptions): () => void;
  /** Sees every request before it is handled. Returns the remover. */
  onRequest(hook: RequestHook): () => void;
}

/** Options of {@link startKafkaBroker}: the cluster's, and a signal. */
export interface StartKafkaBrokerOptions extends KafkaBrokerOptions {
  /**
   * Aborted before the cluster is up: the brokers already listening are stopped and the promise
   * rejects with the signal's reason. Aborted later: the cluster stops, as `stop()` does. The
   * listener is removed by `stop()`.
   * @default none
   */
  signal?: AbortSignal;
}

/**
 * Starts an in-process cluster that speaks the Kafka wire protocol on loopback ports.
 *
 * ```ts
 * const kafka = await startKafkaBroker({ brokers: 3, topics: [{ name: 'orders', partitions: 6 }] });
 * const client = new Kafka({ brokers: kafka.bootstrap });
 * // ...
 * await kafka.stop();
 * ```
 *
 * With `dataDir`, a cluster started again on the same directory (and `ports`, for clients that keep
 * their bootstrap list) serves the topics, records and committed offsets the last one stored:
 *
 * ```ts
 * const first = await startKafkaBroker({ dataDir: '/tmp/kafka-data' });
 * const port = first.cluster.brokers[0].port;
 * await first.stop();
 * const again = await startKafkaBroker({ dataDir: '/tmp/kafka-data', ports: [port] });
 * ```
 *
 * @throws {TypeError} when `signal` is not an AbortSignal, `dataDir` not a non-empty string, or `fsync`
 *   not a boolean or given without `dataDir`.
 * @throws {Error} when a port is in use or the data directory is held by another live cluster (nothing
 *   is left running or locked).
 */
export async function startKafkaBroker(options: StartKafkaBrokerOptions = {}): Promise<KafkaTestBroker> {
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw new TypeError('Invalid option "signal": expected an AbortSignal');
  signal?.throwIfAborted();
  const cluster = new Cluster(options);
  const halt = async (): Promise<void> => {
    for (const b of cluster.brokers) await b.stop();
    await cluster.close();
  };
  try {
    for (const b of cluster.brokers) {
      await b.start();
      signal?.throwIfAborted();
    }
    for (const t of options.topics ?? []) {
      if (typeof t === 'string') cluster.createTopic(t);
      else cluster.createTopic(t.name, t.partitions);
    }
  } catch (error) {
    // A port in use, an abort or a full disk: what started is stopped and the data directory released.
    await halt();
    throw error;
  }
  const matches = (filter: { apiKey?: number; brokerId?: number }, r: { apiKey: number; brokerId: number }): boolean =>
    (filter.apiKey === undefined || filter.apiKey === r.apiKey) &&
    (filter.brokerId === undefined || filter.brokerId === r.brokerId);
  const each = (brokerId: number | undefined) =>
    brokerId === undefined ? cluster.brokers : cluster.brokers.filter((b) => b.id === brokerId);
  const onAbort = (): void => void halt();
  signal?.addEventListener('abort', onAbort, { once: true });
  const stop = (): Promise<void> => {
    signal?.removeEventListener('abort', onAbort);
    return halt();
  };
  return {
    bootstrap: cluster.brokers.map((b) => `${b.host}:${b.port}`),
    cluster,
    stop,
    [Symbol.asyncDispose]: stop,
    async restart(brokerId) {
      for (const b of each(brokerId)) await b.stop();
      for (const b of each(brokerId)) await b.start();
    },
    async stopBroker(brokerId) {
      await cluster.broker(brokerId)?.stop();
    },
    async startBroker(brokerId) {
      await cluster.broker(brokerId)?.start();
    },
    dropConnections(brokerId) {
      for (const b of each(brokerId)) b.dropConnections();
    },
    dropAfter({ requests, apiKey, brokerId, midResponse }) {
      let left = requests;
      return cluster.onRequest((r) => {
        if (!matches({ apiKey, brokerId }, r) || left <= 0) return undefined;
        return --left === 0 ? { action: midResponse ? 'close-mid-response' : 'close' } : undefined;
      });
    },
    delay({ ms, apiKey, brokerId }) {
      return cluster.onRequest((r) => (matches({ apiKey, brokerId }, r) ? { delayMs: ms } : undefined));
    },
    blackHole(filter = {}) {
      return cluster.onRequest((r) => (matches(filter, r) ? { action: 'black-hole' } : undefined));
    },
    injectError: (o) => cluster.injectError(o),
    onRequest: (hook) => cluster.onRequest(hook),
  };
}
