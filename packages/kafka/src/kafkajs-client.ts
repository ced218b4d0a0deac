import { CompressionTypes, type Consumer, Kafka, type KafkaConfig, logLevel, type Producer } from 'kafkajs';
import type {
  FetchedBatch,
  FetchedRecord,
  GroupConsumerClient,
  KafkaClientFactory,
  KafkaConnection,
  ProducerClient,
  TopicPartition,
} from './client.js';

/** The only module that knows kafkajs. */
function kafka(connection: KafkaConnection): Kafka {
  const config: KafkaConfig = {
    brokers: connection.brokers,
    clientId: connection.clientId ?? 'q-kafka',
    logLevel: logLevel.NOTHING,
    requestTimeout: connection.requestTimeoutMs ?? 30_000,
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 2000 },
  };
  if (connection.ssl !== undefined) config.ssl = connection.ssl as KafkaConfig['ssl'];
  if (connection.sasl !== undefined) config.sasl = connection.sasl as KafkaConfig['sasl'];
  return new Kafka(config);
}

class KafkajsGroupConsumer implements GroupConsumerClient {
  readonly #consumer: Consumer;
  constructor(consumer: Consumer) {
    this.#consumer = consumer;
  }
  connect(): Promise<void> {
    return this.#consumer.connect();
  }
  disconnect(): Promise<void> {
    return this.#consumer.disconnect();
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
  commit(offsets: readonly (TopicPartition & { offset: string })[]): Promise<void> {
    return this.#consumer.commitOffsets(
      offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })),
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

class KafkajsProducer implements ProducerClient {
  readonly #producer: Producer;
  constructor(producer: Producer) {
    this.#producer = producer;
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
  }
}

/** The default client factory: kafkajs 2.2.4. */
export const kafkajsClient: KafkaClientFactory = {
  groupConsumer(connection, o) {
    return new KafkajsGroupConsumer(
      kafka(connection).consumer({
        groupId: o.groupId,
        minBytes: o.minBytes,
        maxBytes: o.maxBytes,
        maxWaitTimeInMs: o.maxWaitMs,
        sessionTimeout: o.sessionTimeoutMs,
        heartbeatInterval: o.heartbeatIntervalMs,
        rebalanceTimeout: o.rebalanceTimeoutMs,
        retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 2000 },
      }),
    );
  },
  producer(connection, o) {
    return new KafkajsProducer(
      kafka(connection).producer({
        idempotent: o.idempotent,
        maxInFlightRequests: o.idempotent ? 1 : undefined,
        allowAutoTopicCreation: true,
      }),
    );
  },
};
