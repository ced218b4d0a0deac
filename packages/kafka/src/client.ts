/**
 * The small client interface @q/kafka is written against. kafkajs satisfies it through
 * `kafkajs-client.ts` (the only module that knows kafkajs); `@confluentinc/kafka-javascript`'s
 * KafkaJS-compatible API can be wrapped the same way.
 */

/** A fetched record, as the handler sees it. */
export interface KafkaMessage {
  /** The topic it was fetched from. */
  readonly topic: string;
  /** The partition it was fetched from. */
  readonly partition: number;
  /** The offset, as a decimal string (Kafka offsets are int64). */
  readonly offset: string;
  /** The record's key; `null` when it has none. */
  readonly key: Buffer | null;
  /** The record's value; `null` for a tombstone. */
  readonly value: Buffer | null;
  /** The record's headers (empty when it has none). */
  readonly headers: Readonly<Record<string, Buffer | string | undefined>>;
  /** Milliseconds since the epoch, as a string. */
  readonly timestamp: string;
}

/** A record as the client fetched it, before it is tied to its topic and partition. */
export interface FetchedRecord {
  /** The offset, as a decimal string. */
  readonly offset: string;
  /** The record's key; `null` when it has none. */
  readonly key: Buffer | null;
  /** The record's value; `null` for a tombstone. */
  readonly value: Buffer | null;
  /** The record's headers, if any. */
  readonly headers?: Readonly<Record<string, Buffer | string | undefined>>;
  /** Milliseconds since the epoch, as a string. */
  readonly timestamp: string;
}

/** A batch of one partition handed over by the client's fetch loop. */
export interface FetchedBatch {
  /** The topic of every record in the batch. */
  readonly topic: string;
  /** The partition of every record in the batch. */
  readonly partition: number;
  /** The records, in offset order (kafkajs's own objects: no copy per message). */
  readonly messages: readonly FetchedRecord[];
  /** Advances the client's fetch position past `offset` (commits are separate). */
  resolveOffset(offset: string): void;
  /** Keeps the group session alive while a batch is held. */
  heartbeat(): Promise<void>;
}

/** One partition of one topic. */
export interface TopicPartition {
  /** The topic's name. */
  readonly topic: string;
  /** The partition's number within the topic. */
  readonly partition: number;
}

/** A committed offset as the group coordinator returns it. */
export interface CommittedOffset extends TopicPartition {
  /** The next offset to read, as a decimal string; "-1" when nothing was committed. */
  readonly offset: string;
  /** The metadata committed with it (the offset map); `null` when none. */
  readonly metadata: string | null;
}

/** What a group consumer must do for {@link KafkaQueue}. */
export interface GroupConsumerClient {
  /** Connects to the cluster (not yet joining the group: that is {@link GroupConsumerClient.run}). */
  connect(): Promise<void>;
  /** Leaves the group and closes every connection, waiting for requests under way. */
  disconnect(): Promise<void>;
  /**
   * Closes every connection now, without waiting for anything, and opens none again: what a stop
   * past its deadline does when the broker stopped answering. Optional: without it such a stop
   * resolves anyway, and the client lets go whenever its own timeouts and retries end.
   */
  destroy?(): void;
  /** Subscribes to `topics`; a group without a committed offset starts at the earliest offset when `fromBeginning`, else the latest. */
  subscribe(topics: readonly string[], fromBeginning: boolean): Promise<void>;
  /** Starts the fetch loop; `eachBatch` gets every fetched batch, one partition at a time per call. */
  run(eachBatch: (batch: FetchedBatch) => Promise<void>, concurrency: number): Promise<void>;
  /**
   * Commits offsets (the next offset to read, per partition) for the current generation, each with
   * an optional metadata string (the offset map; null or absent for none).
   */
  commit(offsets: readonly (TopicPartition & { offset: string; metadata?: string | null })[]): Promise<void>;
  /**
   * The group's committed offsets and their metadata for these partitions (`offset` "-1" where none).
   * Optional: without it no offset map is read back, and everything above a commit is redone.
   */
  fetchCommitted?(partitions: readonly TopicPartition[]): Promise<readonly CommittedOffset[]>;
  /** Stops fetching these partitions (back-pressure); they stay assigned. */
  pause(partitions: readonly TopicPartition[]): void;
  /** Fetches these partitions again after {@link GroupConsumerClient.pause}. */
  resume(partitions: readonly TopicPartition[]): void;
  /** `rebalancing`: the member is about to rejoin; `assigned`: the partitions it owns now. */
  onGroupChange(listener: {
    rebalancing(): void | Promise<void>;
    assigned(partitions: readonly TopicPartition[]): void;
  }): void;
}

/** An outgoing record. */
export interface OutgoingMessage {
  /** The record's key (it picks the partition when `partition` is not given). */
  readonly key?: Buffer | string | null;
  /** The record's value; `null` for a tombstone. */
  readonly value: Buffer | string | null;
  /** The record's headers. */
  readonly headers?: Record<string, Buffer | string>;
  /** The partition to write to; by default the client's partitioner picks it from the key. */
  readonly partition?: number;
}

/** What a producer must do for {@link KafkaPusher}. */
export interface ProducerClient {
  /** Connects to the cluster. */
  connect(): Promise<void>;
  /** Closes every connection, waiting for the writes under way. */
  disconnect(): Promise<void>;
  /** Like {@link GroupConsumerClient.destroy}: closes every connection now; writes under way fail. */
  destroy?(): void;
  /**
   * Sends messages to one topic; resolves when the broker acknowledged them (per `acks`). Rejects
   * with `UnroutableError` of `@q/core` (reason: the broker's error name) when the topic does not
   * exist and the producer was made without `allowAutoTopicCreation`: nothing was written.
   */
  send(
    topic: string,
    messages: readonly OutgoingMessage[],
    options: { acks: -1 | 0 | 1; compression: Compression },
  ): Promise<void>;
}

/** How a batch of records is compressed on the wire: the codecs kafkajs has built in. */
export type Compression = 'none' | 'gzip';

/** Connection settings passed through to the client; certificate verification stays on. */
export interface KafkaConnection {
  /** Bootstrap brokers, as `host:port`. */
  brokers: string[];
  /**
   * The client id the brokers see (in their logs and quotas).
   * @default 'q-kafka'
   */
  clientId?: string;
  /**
   * TLS: `true`, or the client's TLS options (Node's `tls.connect` options for kafkajs).
   * @default none (plaintext)
   */
  ssl?: boolean | Record<string, unknown>;
  /**
   * SASL authentication, in the client's shape (kafkajs: `{ mechanism, username, password }`).
   * @default none
   */
  sasl?: Record<string, unknown>;
  /** @default 30000 */
  requestTimeoutMs?: number;
  /**
   * How often the client retries a failed connect or request (back-off from 100 ms up to 2 s)
   * before the operation fails. The default rides out a broker restart; it also means a broker that
   * is unreachable fails a write only after about 50 s (times the pusher's `reconnect.attempts`).
   * Lower it where failing fast matters more.
   * @default 30
   */
  retries?: number;
}

/** Makes clients: the default is kafkajs. */
export interface KafkaClientFactory {
  /** Makes the client of one group member (one per {@link KafkaQueue} consumer). */
  groupConsumer(
    connection: KafkaConnection,
    options: {
      groupId: string;
      minBytes: number;
      maxBytes: number;
      maxWaitMs: number;
      sessionTimeoutMs: number;
      rebalanceTimeoutMs: number;
      heartbeatIntervalMs: number;
    },
  ): GroupConsumerClient;
  /**
   * Makes a producer client (one per {@link KafkaPusher}). `allowAutoTopicCreation`: whether a send
   * to a topic that does not exist may create it (on a broker with `auto.create.topics.enable`);
   * without it such a send rejects with `UnroutableError`. Absent means false.
   */
  producer(
    connection: KafkaConnection,
    options: { idempotent: boolean; allowAutoTopicCreation?: boolean },
  ): ProducerClient;
}
