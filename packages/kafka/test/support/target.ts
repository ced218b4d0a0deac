import { randomUUID } from 'node:crypto';
import { startKafkaBroker } from '@q/kafka-testkit';
import { Kafka, logLevel } from 'kafkajs';

/** A record read back from a topic. */
export interface ReadRecord {
  readonly partition: number;
  readonly key: string | null;
  readonly value: string;
  readonly headers: Record<string, string>;
}

/**
 * Where an end-to-end test runs: a fresh in-process @q/kafka-testkit broker, or the real cluster
 * named by KAFKA_BROKERS. Tests only use what both offer (the Kafka protocol through kafkajs), never
 * the testkit's internals, so the same assertions hold on either.
 */
export interface KafkaTarget {
  readonly bootstrap: string[];
  /** Creates a topic with a fresh name. */
  createTopic(partitions: number, prefix?: string): Promise<string>;
  /** The end offset (high watermark) of every partition. */
  endOffsets(topic: string): Promise<Map<number, bigint>>;
  /** Reads `count` records from the beginning of `topic`. */
  read(topic: string, count: number): Promise<ReadRecord[]>;
  close(): Promise<void>;
}

/** The targets to run against: always the testkit, plus a real cluster when KAFKA_BROKERS is set. */
export function kafkaTargets(): { name: string; open(brokers?: number): Promise<KafkaTarget> }[] {
  const external = process.env.KAFKA_BROKERS;
  const targets = [
    {
      name: 'testkit',
      async open(brokers = 1): Promise<KafkaTarget> {
        const broker = await startKafkaBroker({ brokers });
        return target(broker.bootstrap, () => broker.stop());
      },
    },
  ];
  if (external !== undefined && external !== '') {
    targets.push({
      name: `KAFKA_BROKERS=${external}`,
      open: async () => target(external.split(','), async () => {}),
    });
  }
  return targets;
}

function target(bootstrap: string[], stop: () => Promise<void>): KafkaTarget {
  const kafka = new Kafka({ clientId: 'q-test', brokers: bootstrap, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  let connected: Promise<void> | undefined;
  const ready = () => (connected ??= admin.connect());
  return {
    bootstrap,
    async createTopic(partitions, prefix = 't') {
      await ready();
      const topic = `${prefix}-${randomUUID()}`;
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
      return topic;
    },
    async endOffsets(topic) {
      await ready();
      const offsets = await admin.fetchTopicOffsets(topic);
      return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
    },
    read: (topic, count) => readTopic(kafka, topic, count),
    async close() {
      if (connected !== undefined) await admin.disconnect();
      await stop();
    },
  };
}

/** Reads `count` records from the beginning of `topic` through a kafkajs group consumer. */
export async function readTopic(kafka: Kafka, topic: string, count: number): Promise<ReadRecord[]> {
  const consumer = kafka.consumer({ groupId: `read-${randomUUID()}`, maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const out: ReadRecord[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${out.length} of ${count} from ${topic}`)), 30_000);
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
          out.push({
            partition,
            key: message.key === null ? null : message.key.toString(),
            value: String(message.value),
            headers,
          });
          if (out.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}
