import { randomUUID } from 'node:crypto';
import { type Pusher, readDeaths, silentLogger, UnsupportedFeatureError } from '@q/core';
import { type KafkaMessage, KafkaPusher, KafkaQueue } from '@q/kafka';
import { startKafkaBroker } from '@q/kafka-testkit';
import { Kafka, logLevel } from 'kafkajs';
import { readTopic } from '../../../packages/kafka/test/support/target.js';
import { freePort } from '../../free-port.js';
import type { ConformanceAdapter, ConformanceMessage, Destination, DestinationOptions } from '../adapter.js';

const PARTITIONS = 4;

/**
 * @q/kafka on the test broker (or `connection.brokers`): `KafkaPusher` in, `KafkaQueue` out,
 * `<topic>.dlq` for dead letters. A fresh topic per destination.
 */
export async function connect(connection: Record<string, unknown> = {}): Promise<ConformanceAdapter> {
  const given = Array.isArray(connection.brokers) ? (connection.brokers as string[]) : undefined;
  const broker = given === undefined ? await startKafkaBroker() : undefined;
  const brokers = given ?? (broker?.bootstrap as string[]);
  const kafka = new Kafka({ clientId: 'q-conformance', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const adapter: ConformanceAdapter = {
    name: 'kafka',
    connection: { brokers },
    // Kafka orders per partition (a key's partition); a failed record is committed past (forceCommit),
    // never redelivered; no delivery count exists to limit; no per-topic message count exists.
    features: {
      perKeyOrder: true,
      nackRequeue: false,
      deliveryLimit: false,
      ttl: true,
      maxLength: [],
      mandatory: true,
    },
    // A killed member redoes what it fetched and had not committed: its high-water mark plus 100 ms of commits.
    inFlightBound: 1_500,
    async destination(options: DestinationOptions = {}) {
      if (options.deliveryLimit !== undefined) {
        throw new UnsupportedFeatureError('kafka', 'deliveryLimit', 'Kafka keeps no redelivery count');
      }
      // maxLength goes to KafkaPusher itself, which must refuse it.
      if (options.maxLength !== undefined) {
        // Should it not refuse, close what it made (the suite then fails on the missing refusal).
        await new KafkaPusher({ brokers, topic: 'unused', ...(options as object) } as never).close();
      }
      const topic = `conf-${randomUUID()}`;
      await admin.createTopics({
        topics: [
          { topic, numPartitions: PARTITIONS },
          { topic: `${topic}.dlq`, numPartitions: 1 },
        ],
        waitForLeaders: true,
      });
      return open(brokers, kafka, { topic, ttlMs: options.ttlMs });
    },
    reopen: async (config) => open(brokers, kafka, config as { topic: string; ttlMs?: number }),
    async pushUnroutable(message) {
      const pusher = new KafkaPusher({ brokers, topic: `missing-${randomUUID()}`, logger: silentLogger });
      try {
        await pusher.pushAndConfirm(encode(message));
      } finally {
        await pusher.close();
      }
    },
    async pushUnreachable(message) {
      const port = await freePort();
      const pusher = new KafkaPusher({
        brokers: [`127.0.0.1:${port}`],
        topic: 'anywhere',
        requestTimeoutMs: 2_000,
        reconnect: { attempts: 1 },
        retries: 1,
        logger: silentLogger,
      });
      try {
        await pusher.pushAndConfirm(encode(message));
      } finally {
        await pusher.close({ timeoutMs: 1_000 }).catch(() => undefined);
      }
    },
    async close() {
      await admin.disconnect();
      await broker?.stop();
    },
  };
  return adapter;
}

const encode = (m: ConformanceMessage) => ({ key: Buffer.from(m.key), value: Buffer.from(m.id) });

function open(brokers: string[], kafka: Kafka, config: { topic: string; ttlMs?: number }): Destination {
  const { topic } = config;
  const dlq = `${topic}.dlq`;
  const group = `${topic}-group`;
  return {
    name: topic,
    config,
    pusher() {
      const pusher = new KafkaPusher({
        brokers,
        topic,
        flushIntervalMs: 1,
        logger: silentLogger,
        ...(config.ttlMs !== undefined ? { ttlMs: config.ttlMs } : {}),
      });
      return {
        name: () => pusher.name(),
        push: (m: ConformanceMessage) => pusher.pushAndConfirm(encode(m)),
        pushAndConfirm: (m: ConformanceMessage) => pusher.pushAndConfirm(encode(m)),
        close: () => pusher.close(),
      };
    },
    producerFactory() {
      throw new Error('KafkaQueue is its own consumer: use run()');
    },
    deadLetterPusher() {
      return new KafkaPusher({ brokers, topic: dlq, logger: silentLogger }) as unknown as Pusher<unknown> & {
        close(): Promise<void>;
      };
    },
    run(handler, options) {
      const queue = new KafkaQueue(
        {
          brokers,
          group,
          topic,
          offset: 'first',
          ordering: options.consumers === 1 ? 'partition' : 'key',
          consumers: options.consumers ?? 4,
          commitIntervalMs: 100,
          sessionTimeoutMs: 6_000,
          heartbeatIntervalMs: 500,
          maxWaitMs: 50,
          // Expired records go to the dead-letter topic whenever TTL is in use; handler failures when asked.
          ...(options.deadLetter !== undefined
            ? { deadLetter: options.deadLetter as Pusher<KafkaMessage> }
            : config.ttlMs !== undefined
              ? { deadLetter: dlq }
              : {}),
          ...(options.retry !== undefined ? { retry: options.retry } : {}),
          stopTimeoutMs: options.stopTimeoutMs ?? 10_000,
          logger: silentLogger,
        },
        (message) => handler(message),
      );
      return { done: queue.start(), stop: (o) => queue.stop(o) };
    },
    decode(message) {
      const m = message as KafkaMessage;
      return { id: String(m.value), key: m.key === null ? '' : m.key.toString() };
    },
    async deadLetters() {
      const admin = kafka.admin();
      await admin.connect();
      const offsets = await admin.fetchTopicOffsets(dlq);
      await admin.disconnect();
      const count = offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
      if (count === 0) return [];
      const records = await readTopic(kafka, dlq, count);
      return records.map((r) => ({ id: r.value, deaths: readDeaths(r.headers['q-death']) }));
    },
    async dispose() {
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [topic, dlq] }).catch(() => undefined);
      await admin.disconnect();
    },
  };
}
