import { InvalidOptionError, UnroutableError } from '@q/core';
import { type Admin, CompressionTypes, type Consumer, Kafka, type KafkaConfig, logLevel, type Producer } from 'kafkajs';
import type {
  CommittedOffset,
  FetchedBatch,
  FetchedRecord,
  GroupConsumerClient,
  KafkaClientFactory,
  KafkaConnection,
  ProducerClient,
  TopicPartition,
} from './client.js';
import { OffsetMetadataTooLargeError } from './errors.js';
import { type BrokerRoute, SocketRegistry } from './socket-registry.js';

/**
 * How long a disconnect waits for offset-map reads under way before it closes the admin client
 * anyway (the reads then fail, and their partitions go without a map: only duplicates).
 */
const ADMIN_DRAIN_MS = 2000;

/** The only module that knows kafkajs. */
function kafka(connection: KafkaConnection, sockets: SocketRegistry): Kafka {
  const retries = connection.retries;
  if (retries !== undefined && (!Number.isInteger(retries) || retries < 0 || retries > 1000)) {
    throw new InvalidOptionError('retries', retries, 'an integer from 0 to 1000');
  }
  const config: KafkaConfig = {
    brokers: connection.brokers,
    socketFactory: sockets.factory,
    clientId: connection.clientId ?? 'q-kafka',
    logLevel: logLevel.NOTHING,
    requestTimeout: connection.requestTimeoutMs ?? 30_000,
    retry: { retries: connection.retries ?? 30, initialRetryTime: 100, maxRetryTime: 2000 },
  };
  if (connection.ssl !== undefined) config.ssl = connection.ssl as KafkaConfig['ssl'];
  if (connection.sasl !== undefined) config.sasl = connection.sasl as KafkaConfig['sasl'];
  return new Kafka(config);
}

class KafkajsGroupConsumer implements GroupConsumerClient {
  readonly #consumer: Consumer;
  readonly #kafka: Kafka;
  readonly #groupId: string;
  readonly #sockets: SocketRegistry;
  #admin: Admin | undefined;
  #adminConnected: Promise<void> | undefined;
  /** Set by disconnect: from then on no admin request starts (one would reopen a connection). */
  #closed = false;
  /** Admin work under way (its connect, offset reads): disconnect waits for it before closing. */
  readonly #adminWork = new Set<Promise<unknown>>();
  constructor(kafka: Kafka, groupId: string, consumer: Consumer, sockets: SocketRegistry) {
    this.#kafka = kafka;
    this.#groupId = groupId;
    this.#consumer = consumer;
    this.#sockets = sockets;
  }
  async connect(): Promise<void> {
    // The admin connection is opened alongside, so reading offset maps at an assignment costs only
    // the request; failing here is not fatal (fetchCommitted tries again).
    void this.#track(this.#connectAdmin()).catch(() => {
      this.#adminConnected = undefined;
    });
    await this.#consumer.connect();
  }
  async #connectAdmin(): Promise<Admin> {
    this.#admin ??= this.#kafka.admin({ retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 } });
    this.#adminConnected ??= this.#admin.connect();
    await this.#adminConnected;
    return this.#admin;
  }
  #track<T>(work: Promise<T>): Promise<T> {
    this.#adminWork.add(work);
    const untrack = () => void this.#adminWork.delete(work);
    work.then(untrack, untrack);
    return work;
  }
  /**
   * Leaves the group and closes both clients. An admin request still under way would, answered
   * after its client was disconnected, reconnect it and leave that connection open for good: so
   * no new one starts, and those under way are waited for (at most {@link ADMIN_DRAIN_MS}) first.
   */
  async disconnect(): Promise<void> {
    this.#closed = true;
    const consumer = this.#consumer.disconnect();
    if (this.#adminWork.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const drained = Promise.allSettled([...this.#adminWork]);
      await Promise.race([drained, new Promise((resolve) => (timer = setTimeout(resolve, ADMIN_DRAIN_MS)))]);
      clearTimeout(timer);
    }
    const admin = this.#admin;
    this.#admin = undefined;
    this.#adminConnected = undefined;
    await Promise.all([consumer, admin?.disconnect()]);
  }
  destroy(): void {
    this.#closed = true;
    // Disconnecting first stops kafkajs's runner at once (its loops and a commit under way retry
    // only while it runs: 30 times otherwise, keeping the process alive for a minute); the
    // destroyed sockets then fail whatever the disconnect itself waits for.
    void this.#consumer.disconnect().catch(() => {});
    void this.#admin?.disconnect().catch(() => {});
    this.#sockets.destroy();
  }
  async subscribe(topics: readonly string[], fromBeginning: boolean): Promise<void> {
    await this.#consumer.subscribe({ topics: [...topics], fromBeginning });
  }
  run(eachBatch: (batch: FetchedBatch) => Promise<void>, concurrency: number): Promise<void> {
    return this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: concurrency,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        await eachBatch({
          topic: batch.topic,
          partition: batch.partition,
          messages: batch.messages as unknown as FetchedRecord[],
          resolveOffset,
          heartbeat,
        });
      },
    });
  }
  async commit(offsets: readonly (TopicPartition & { offset: string; metadata?: string | null })[]): Promise<void> {
    try {
      // kafkajs 2.2.4 passes `metadata` through to the OffsetCommit request (null when absent).
      await this.#consumer.commitOffsets(
        offsets.map((o) => ({
          topic: o.topic,
          partition: o.partition,
          offset: o.offset,
          metadata: o.metadata ?? null,
        })),
      );
    } catch (error) {
      if ((error as { type?: unknown }).type === 'OFFSET_METADATA_TOO_LARGE')
        throw new OffsetMetadataTooLargeError(error);
      throw error;
    }
  }
  async fetchCommitted(partitions: readonly TopicPartition[]): Promise<readonly CommittedOffset[]> {
    // The consumer reads committed offsets itself but drops their metadata: an admin client of the
    // same connection settings asks the coordinator again, once per assignment.
    if (this.#closed) throw new Error('the group consumer is disconnected: offsets are not read');
    return this.#track(this.#fetchCommitted(partitions));
  }
  async #fetchCommitted(partitions: readonly TopicPartition[]): Promise<readonly CommittedOffset[]> {
    const admin = await this.#connectAdmin();
    const wanted = new Set(partitions.map((p) => `${p.topic}\u0000${p.partition}`));
    const topics = [...new Set(partitions.map((p) => p.topic))];
    const fetched = await admin.fetchOffsets({ groupId: this.#groupId, topics });
    return fetched.flatMap(({ topic, partitions: ps }) =>
      ps
        .filter((p) => wanted.has(`${topic}\u0000${p.partition}`))
        .map((p) => ({ topic, partition: p.partition, offset: p.offset, metadata: p.metadata ?? null })),
    );
  }
  pause(partitions: readonly TopicPartition[]): void {
    this.#consumer.pause(byTopic(partitions));
  }
  resume(partitions: readonly TopicPartition[]): void {
    this.#consumer.resume(byTopic(partitions));
  }
  onGroupChange(listener: {
    rebalancing(): void | Promise<void>;
    assigned(partitions: readonly TopicPartition[]): void;
  }): void {
    this.#consumer.on(this.#consumer.events.REBALANCING, () => void listener.rebalancing());
    this.#consumer.on(this.#consumer.events.GROUP_JOIN, (event) => {
      const assignment = event.payload.memberAssignment as Record<string, number[]>;
      listener.assigned(
        Object.entries(assignment).flatMap(([topic, ps]) => ps.map((partition) => ({ topic, partition }))),
      );
    });
  }
}

function byTopic(partitions: readonly TopicPartition[]): { topic: string; partitions: number[] }[] {
  const map = new Map<string, number[]>();
  for (const p of partitions) map.set(p.topic, [...(map.get(p.topic) ?? []), p.partition]);
  return [...map].map(([topic, ps]) => ({ topic, partitions: ps }));
}

/**
 * The broker's error codes that mean a topic cannot be written to because it is not there (Kafka's
 * names, as kafkajs reports them in `type`).
 */
const UNROUTABLE = new Set(['UNKNOWN_TOPIC_OR_PARTITION']);

/**
 * The broker's error name when `error` (or an error it wraps: kafkajs gives up on a send with
 * `KafkaJSNumberOfRetriesExceeded` whose `cause` is the broker's answer) says the topic does not exist.
 */
function unroutableReason(error: unknown): string | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 4 && typeof e === 'object' && e !== null; depth++) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string' && UNROUTABLE.has(type)) return type;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

class KafkajsProducer implements ProducerClient {
  readonly #producer: Producer;
  readonly #sockets: SocketRegistry;
  readonly #kafka: Kafka;
  readonly #autoCreate: boolean;
  /** Topics a metadata answer or a send showed to exist: no lookup before their sends. */
  readonly #known = new Set<string>();
  /** Lookups under way, shared by the sends that wait for them. */
  readonly #looking = new Map<string, Promise<void>>();
  constructor(kafka: Kafka, producer: Producer, sockets: SocketRegistry, autoCreate: boolean) {
    this.#kafka = kafka;
    this.#producer = producer;
    this.#sockets = sockets;
    this.#autoCreate = autoCreate;
  }
  destroy(): void {
    this.#sockets.destroy();
  }
  connect(): Promise<void> {
    return this.#producer.connect();
  }
  disconnect(): Promise<void> {
    return this.#producer.disconnect();
  }
  async send(
    topic: string,
    messages: readonly {
      key?: Buffer | string | null;
      value: Buffer | string | null;
      headers?: Record<string, Buffer | string>;
      partition?: number;
    }[],
    options: { acks: -1 | 0 | 1; compression: 'none' | 'gzip' },
  ): Promise<void> {
    if (!this.#autoCreate && !this.#known.has(topic)) await this.#lookUp(topic);
    try {
      await this.#producer.send({
        topic,
        acks: options.acks,
        compression: options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
        messages: messages.map((m) => ({
          key: m.key ?? null,
          value: m.value,
          headers: m.headers,
          partition: m.partition,
        })),
      });
      this.#known.add(topic);
    } catch (error) {
      // A topic deleted after its lookup: kafkajs retried the send for about a minute first.
      const reason = unroutableReason(error);
      if (reason === undefined) throw error;
      this.#known.delete(topic);
      throw new UnroutableError(topic, reason, { cause: error });
    }
  }

  /**
   * Asks the cluster whether `topic` exists before the first send to it: kafkajs retries a send to
   * a missing topic for about a minute (UNKNOWN_TOPIC_OR_PARTITION is retriable to it, since a topic
   * being created answers so for a moment), where the caller should hear at once that nothing
   * receives it. An admin client on this producer's sockets, without retries, asks once and
   * disconnects. Any other failure (a broker down) leaves the answer to the send and its retries.
   */
  #lookUp(topic: string): Promise<void> {
    let looking = this.#looking.get(topic);
    if (looking === undefined) {
      looking = this.#askMetadata(topic).finally(() => this.#looking.delete(topic));
      this.#looking.set(topic, looking);
    }
    return looking;
  }

  async #askMetadata(topic: string): Promise<void> {
    const admin = this.#kafka.admin({ retry: { retries: 0 } });
    try {
      await admin.connect();
      // A topic just created may be unknown to the broker asked for a moment: only an answer that
      // holds over UNKNOWN_TOPIC_ASKS asks, about half a second, makes the push unroutable.
      for (let ask = 1; ; ask++) {
        try {
          await admin.fetchTopicMetadata({ topics: [topic] });
          this.#known.add(topic);
          return;
        } catch (error) {
          const reason = unroutableReason(error);
          if (reason === undefined) return;
          if (ask >= UNKNOWN_TOPIC_ASKS) throw new UnroutableError(topic, reason, { cause: error });
        }
        await new Promise((resolve) => setTimeout(resolve, UNKNOWN_TOPIC_PAUSE_MS * ask));
      }
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }
}

/** How often the topic lookup asks before a topic counts as missing, and the pause after each (times the ask). */
const UNKNOWN_TOPIC_ASKS = 3;
const UNKNOWN_TOPIC_PAUSE_MS = 80;

/** The default client factory: kafkajs 2.2.4. */
export const kafkajsClient: KafkaClientFactory = routedKafkajsClient();

/**
 * {@link kafkajsClient}, with every connection opened where `route` says instead of at the address
 * a broker advertises (the same for every client it makes). For tests that put a fault-injecting
 * proxy between the client and a broker; not exported from the package.
 */
export function routedKafkajsClient(route?: BrokerRoute): KafkaClientFactory {
  return {
    groupConsumer(connection, o) {
      const sockets = new SocketRegistry(route);
      const client = kafka(connection, sockets);
      return new KafkajsGroupConsumer(
        client,
        o.groupId,
        client.consumer({
          groupId: o.groupId,
          minBytes: o.minBytes,
          maxBytes: o.maxBytes,
          maxWaitTimeInMs: o.maxWaitMs,
          sessionTimeout: o.sessionTimeoutMs,
          heartbeatInterval: o.heartbeatIntervalMs,
          rebalanceTimeout: o.rebalanceTimeoutMs,
          retry: { retries: connection.retries ?? 30, initialRetryTime: 100, maxRetryTime: 2000 },
        }),
        sockets,
      );
    },
    producer(connection, o) {
      const sockets = new SocketRegistry(route);
      const client = kafka(connection, sockets);
      const autoCreate = o.allowAutoTopicCreation === true;
      return new KafkajsProducer(
        client,
        client.producer({
          idempotent: o.idempotent,
          maxInFlightRequests: o.idempotent ? 1 : undefined,
          allowAutoTopicCreation: autoCreate,
        }),
        sockets,
        autoCreate,
      );
    },
  };
}
