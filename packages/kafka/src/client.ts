/**
 * The small client interface @q/kafka is written against. kafkajs satisfies it through
 * `kafkajs-client.ts` (the only module that knows kafkajs); `@confluentinc/kafka-javascript`'s
 * KafkaJS-compatible API can be wrapped the same way.
 */

/** A fetched record, as the handler sees it. */
export interface KafkaMessage {
  readonly topic: string;
  readonly partition: number;
  /** The offset, as a decimal string (Kafka offsets are int64). */
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, Buffer | string | undefined>>;
  /** Milliseconds since the epoch, as a string. */
  readonly timestamp: string;
}

/** A record as the client fetched it, before it is tied to its topic and partition. */
export interface FetchedRecord {
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, Buffer | string | undefined>>;
  readonly timestamp: string;
}

/** A batch of one partition handed over by the client's fetch loop. */
export interface FetchedBatch {
  readonly topic: string;
  readonly partition: number;
  /** The records, in offset order (kafkajs's own objects: no copy per message). */
  readonly messages: readonly FetchedRecord[];
  /** Advances the client's fetch position past `offset` (commits are separate). */
  resolveOffset(offset: string): void;
  /** Keeps the group session alive while a batch is held. */
  heartbeat(): Promise<void>;
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** A committed offset as the group coordinator returns it. */
export interface CommittedOffset extends TopicPartition {
  /** The next offset to read, as a decimal string; "-1" when nothing was committed. */
  readonly offset: string;
  readonly metadata: string | null;
}

/** What a group consumer must do for {@link KafkaQueue}. */
export interface GroupConsumerClient {
  connect(): Promise<void>;
  /** Leaves the group and closes every connection, waiting for requests under way. */
  disconnect(): Promise<void>;
  /**
   * Closes every connection now, without waiting for anything, and opens none again: what a stop
   * past its deadline does when the broker stopped answering. Optional: without it such a stop
   * resolves anyway, and the client lets go whenever its own timeouts and retries end.
   */
  destroy?(): void;
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
  pause(partitions: readonly TopicPartition[]): void;
  resume(partitions: readonly TopicPartition[]): void;
  /** `rebalancing`: the member is about to rejoin; `assigned`: the partitions it owns now. */
  onGroupChange(listener: {
    rebalancing(): void | Promise<void>;
    assigned(partitions: readonly TopicPartition[]): void;
  }): void;
}

/** An outgoing record. */
export interface OutgoingMessage {
  readonly key?: Buffer | string | null;
  readonly value: Buffer | string | null;
  readonly headers?: Record<string, Buffer | string>;
  readonly partition?: number;
}

/** What a producer must do for {@link KafkaPusher}. */
export interface ProducerClient {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** Like {@link GroupConsumerClient.destroy}: closes every connection now; writes under way fail. */
  destroy?(): void;
  /** Sends messages to one topic; resolves when the broker acknowledged them (per `acks`). */
  send(
    topic: string,
    messages: readonly OutgoingMessage[],
    options: { acks: -1 | 0 | 1; compression: Compression },
  ): Promise<void>;
}

export type Compression = 'none' | 'gzip';

/** Connection settings passed through to the client; certificate verification stays on. */
export interface KafkaConnection {
  brokers: string[];
  clientId?: string;
  ssl?: boolean | Record<string, unknown>;
  sasl?: Record<string, unknown>;
  /** @default 30000 */
  requestTimeoutMs?: number;
}

/** Makes clients: the default is kafkajs. */
export interface KafkaClientFactory {
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
  producer(connection: KafkaConnection, options: { idempotent: boolean }): ProducerClient;
}
