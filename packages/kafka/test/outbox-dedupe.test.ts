import { randomUUID } from 'node:crypto';
import { OUTBOX_ID_HEADER } from '@q/core';
import { KafkaQueue, type KafkaQueueConfig, type Ordering } from '@q/kafka';
import { type KafkaTestBroker, startKafkaBroker } from '@q/kafka-testkit';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { silent } from './support/test-constants.js';

const brokers: KafkaTestBroker[] = [];
afterEach(async () => {
  await Promise.all(brokers.splice(0).map((b) => b.stop()));
});

/** One record to write: its partition, its label (the value) and its `q-outbox-id`, if any. */
interface Row {
  readonly partition: number;
  readonly label: string;
  readonly id?: string;
}

/**
 * Two partitions, outboxes `a`, `b` and `c` with replays, records without the header and one with a
 * header that is not an outbox id. `drop` marks what dedupe must settle without the handler. Each
 * partition ends with a dropped replay, so its commit can only reach the end past a dropped one.
 */
const ROWS: (Row & { drop: boolean })[] = [
  { partition: 0, label: 'p0-a1', id: 'a:1', drop: false },
  { partition: 0, label: 'p0-a2', id: 'a:2', drop: false },
  { partition: 0, label: 'p0-a3', id: 'a:3', drop: false },
  { partition: 0, label: 'p0-plain', drop: false },
  { partition: 0, label: 'p0-a2-again', id: 'a:2', drop: true },
  { partition: 0, label: 'p0-a3-again', id: 'a:3', drop: true },
  { partition: 0, label: 'p0-b1', id: 'b:1', drop: false },
  { partition: 0, label: 'p0-a4', id: 'a:4', drop: false },
  { partition: 0, label: 'p0-b1-again', id: 'b:1', drop: true },
  { partition: 0, label: 'p0-not-an-id', id: 'not an id', drop: false },
  { partition: 0, label: 'p0-a4-again', id: 'a:4', drop: true },
  { partition: 0, label: 'p0-b2', id: 'b:2', drop: false },
  { partition: 0, label: 'p0-a1-again', id: 'a:1', drop: true },
  // Partition 1 has its own highest sequences: a:1 seen on partition 0 is new here.
  { partition: 1, label: 'p1-a1', id: 'a:1', drop: false },
  { partition: 1, label: 'p1-b5', id: 'b:5', drop: false },
  { partition: 1, label: 'p1-b3', id: 'b:3', drop: true },
  { partition: 1, label: 'p1-c0', id: 'c:0', drop: false },
  { partition: 1, label: 'p1-c0-again', id: 'c:0', drop: true },
];

async function setup(rows: readonly Row[]): Promise<{ broker: KafkaTestBroker; topic: string; kafka: Kafka }> {
  const broker = await startKafkaBroker();
  brokers.push(broker);
  const topic = `dedupe-${randomUUID()}`;
  broker.cluster.createTopic(topic, 2);
  const kafka = new Kafka({ clientId: 'q-test', brokers: broker.bootstrap, logLevel: logLevel.NOTHING });
  await write(kafka, topic, rows);
  return { broker, topic, kafka };
}

/** Writes `rows` one send each, so their order in each partition is the rows' order. */
async function write(kafka: Kafka, topic: string, rows: readonly Row[]): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (const r of rows) {
      await producer.send({
        topic,
        messages: [
          {
            partition: r.partition,
            key: r.label,
            value: r.label,
            headers: r.id === undefined ? {} : { [OUTBOX_ID_HEADER]: r.id },
          },
        ],
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/** The group's committed offset per partition, as the broker has it. */
async function groupOffsets(kafka: Kafka, group: string, topic: string): Promise<Map<number, string>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [fetched] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return new Map((fetched?.partitions ?? []).map((p) => [p.partition, p.offset]));
  } finally {
    await admin.disconnect();
  }
}

/** Runs a queue until `done` holds, then stops it (a final commit); returns the labels handled. */
async function consume(
  broker: KafkaTestBroker,
  topic: string,
  group: string,
  options: Partial<KafkaQueueConfig>,
  done: (handled: string[], queue: KafkaQueue) => boolean,
): Promise<{ handled: string[]; queue: KafkaQueue }> {
  const handled: string[] = [];
  const queue = new KafkaQueue(
    {
      brokers: broker.bootstrap,
      group,
      topic,
      offset: 'first',
      commitIntervalMs: 20,
      maxWaitMs: 50,
      logger: silent,
      ...options,
    },
    (m) => {
      handled.push(String(m.value));
    },
  );
  const running = queue.start();
  try {
    await until(() => done(handled, queue), 20_000, 'the messages handled');
  } finally {
    await queue.stop();
    await running;
  }
  return { handled, queue };
}

const ends = (rows: readonly Row[]) =>
  new Map([0, 1].map((p) => [p, String(rows.filter((r) => r.partition === p).length)]));

describe("KafkaQueue dedupe: 'outbox-id'", () => {
  for (const ordering of ['partition', 'key', 'unordered'] as Ordering[]) {
    it(`${ordering} order: drops replays per partition and outbox, passes other outboxes and header-less messages, commits past the dropped ones`, async () => {
      const { broker, topic, kafka } = await setup(ROWS);
      const group = `g-${randomUUID()}`;
      const expected = ROWS.filter((r) => !r.drop).map((r) => r.label);
      const drops = ROWS.filter((r) => r.drop).length;
      const { handled, queue } = await consume(
        broker,
        topic,
        group,
        { dedupe: 'outbox-id', ordering },
        // Every record fetched: the trailing replays may come in a later fetch than the last handled one.
        (h, q) => h.length >= expected.length && q.duplicatesDropped() >= drops,
      );
      expect([...handled].sort()).toEqual([...expected].sort());
      expect(queue.duplicatesDropped()).toBe(drops);
      // Per partition, the handled ones came in offset order (partition mode) or at least all came.
      if (ordering === 'partition') {
        for (const p of [0, 1]) {
          const mine = expected.filter((l) => l.startsWith(`p${p}-`));
          expect(handled.filter((l) => l.startsWith(`p${p}-`))).toEqual(mine);
        }
      }
      // The group's commit reached the end of each partition, whose last record is a dropped replay.
      expect(await groupOffsets(kafka, group, topic)).toEqual(ends(ROWS));
    }, 40_000);
  }

  it('without the option every message reaches the handler (the rows above do hold replays)', async () => {
    const { broker, topic, kafka } = await setup(ROWS);
    const group = `g-${randomUUID()}`;
    const { handled, queue } = await consume(broker, topic, group, {}, (h) => h.length >= ROWS.length);
    expect([...handled].sort()).toEqual(ROWS.map((r) => r.label).sort());
    expect(queue.duplicatesDropped()).toBe(0);
    expect(await groupOffsets(kafka, group, topic)).toEqual(ends(ROWS));
  }, 40_000);

  it('bad values are refused at construction', () => {
    const config = { brokers: ['127.0.0.1:9'], group: 'g', topic: 't' };
    expect(() => new KafkaQueue({ ...config, dedupe: 'outbox' as 'outbox-id' }, () => {})).toThrow(
      expect.objectContaining({ code: 'Q_INVALID_OPTION', option: 'dedupe' }),
    );
  });

  it('the highest sequences live as long as the assignment: after a restart, a replay of a committed message reaches the handler again (documented)', async () => {
    const first: Row[] = [
      { partition: 0, label: 'a1', id: 'a:1' },
      { partition: 0, label: 'a2', id: 'a:2' },
    ];
    const { broker, topic, kafka } = await setup(first);
    const group = `g-${randomUUID()}`;
    const one = await consume(broker, topic, group, { dedupe: 'outbox-id' }, (h) => h.length >= 2);
    expect(one.handled).toEqual(['a1', 'a2']);
    expect((await groupOffsets(kafka, group, topic)).get(0)).toBe('2');
    // The replay is written after the commit: the next owner has seen nothing of outbox a.
    await write(kafka, topic, [
      { partition: 0, label: 'a2-again', id: 'a:2' },
      { partition: 0, label: 'a3', id: 'a:3' },
      { partition: 0, label: 'a3-again', id: 'a:3' },
    ]);
    const two = await consume(
      broker,
      topic,
      group,
      { dedupe: 'outbox-id' },
      (h, q) => h.length >= 2 && q.duplicatesDropped() >= 1,
    );
    expect(two.handled).toEqual(['a2-again', 'a3']);
    expect(two.queue.duplicatesDropped()).toBe(1);
    expect((await groupOffsets(kafka, group, topic)).get(0)).toBe('5');
  }, 40_000);
});
