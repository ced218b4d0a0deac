import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, type PartitionLog, parseBatches, startKafkaBroker } from '@q/kafka-testkit';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { buildBatch } from './support/batches.js';

const temps: string[] = [];
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kt-data-'));
  temps.push(dir);
  return dir;
}

function batch(options: Parameters<typeof buildBatch>[0]) {
  const parsed = parseBatches(buildBatch(options));
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed[0] as NonNullable<(typeof parsed)[0]>;
}

/** Base offsets of every batch the log serves, in order. */
function baseOffsets(log: PartitionLog): bigint[] {
  return log.read(0n, Number.MAX_SAFE_INTEGER).map((b) => b.readBigInt64BE(0));
}

describe('dataDir: the partition file', () => {
  it('cut at every byte of its last batch, it loads up to the last whole batch and appends after it', async () => {
    const dir = tempDir();
    const first = new Cluster({ dataDir: dir });
    first.createTopic('t', 1);
    const log = first.partition('t', 0)?.log as PartitionLog;
    log.append(batch({ count: 2 }));
    log.append(batch({ count: 3 }));
    log.append(batch({ count: 4 }));
    await first.close();
    const file = join(dir, 'partitions', 't-0.log');
    const whole = readFileSync(file);
    const lastStart = whole.length - buildBatch({ count: 4 }).length;
    expect(whole.readBigInt64BE(lastStart)).toBe(5n);
    for (let cut = lastStart; cut <= whole.length; cut++) {
      writeFileSync(file, whole.subarray(0, cut));
      const lines: string[] = [];
      const cluster = new Cluster({ dataDir: dir, log: (l) => lines.push(l) });
      const again = cluster.partition('t', 0)?.log as PartitionLog;
      const complete = cut === whole.length;
      expect(again.endOffset, `cut at ${cut}`).toBe(complete ? 9n : 5n);
      expect(baseOffsets(again)).toEqual(complete ? [0n, 2n, 5n] : [0n, 2n]);
      // The torn bytes are gone from the file, so the next batch follows the last whole one.
      expect(statSync(file).size).toBe(complete ? whole.length : lastStart);
      expect(lines.length, lines.join('\n')).toBe(cut === lastStart || complete ? 0 : 1);
      expect(again.append(batch({ count: 1 }))).toEqual({ baseOffset: complete ? 9n : 5n });
      await cluster.close();
      const reloaded = new Cluster({ dataDir: dir });
      expect(baseOffsets(reloaded.partition('t', 0)?.log as PartitionLog)).toEqual(
        complete ? [0n, 2n, 5n, 9n] : [0n, 2n, 5n],
      );
      await reloaded.close();
    }
  });

  it('a damaged batch (a flipped byte, a rewritten base offset) or zeros after the last one are cut, never served', async () => {
    const dir = tempDir();
    const first = new Cluster({ dataDir: dir });
    first.createTopic('t', 1);
    for (const count of [2, 3, 4]) first.partition('t', 0)?.log.append(batch({ count }));
    await first.close();
    const file = join(dir, 'partitions', 't-0.log');
    const whole = readFileSync(file);
    const second = buildBatch({ count: 2 }).length;
    const load = async (content: Buffer): Promise<bigint[]> => {
      writeFileSync(file, content);
      const cluster = new Cluster({ dataDir: dir });
      const offsets = baseOffsets(cluster.partition('t', 0)?.log as PartitionLog);
      await cluster.close();
      return offsets;
    };
    const flipped = Buffer.from(whole);
    flipped[second + 70] = (flipped[second + 70] as number) ^ 1; // a record of the second batch
    expect(await load(flipped)).toEqual([0n]);
    const renumbered = Buffer.from(whole);
    renumbered.writeBigInt64BE(7n, second); // outside the batch's CRC
    expect(await load(renumbered)).toEqual([0n]);
    expect(await load(Buffer.concat([whole, Buffer.alloc(100)]))).toEqual([0n, 2n, 5n]);
    expect(statSync(file).size).toBe(whole.length);
  });
});

describe('dataDir: a cluster started again on the same directory', () => {
  it('serves the same topics (partitions, configs), records and committed offsets on the same port', async () => {
    const dir = tempDir();
    const topic = `kept-${randomUUID()}`;
    const group = `g-${randomUUID()}`;
    const first = await startKafkaBroker({ dataDir: dir, topics: [{ name: 'listed', partitions: 2 }] });
    const port = first.cluster.brokers[0]?.port as number;
    let kafka = new Kafka({ clientId: 'data-dir', brokers: first.bootstrap, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic, numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '1000' }] }],
    });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    for (let i = 0; i < 30; i++) await producer.send({ topic, acks: -1, messages: [{ key: `k${i}`, value: `m${i}` }] });
    await producer.disconnect();
    // The group reads what there is (committing each message) until a fetch has come back empty-handed.
    const read = async (expected: number): Promise<string[]> => {
      const seen: string[] = [];
      let fetches = 0;
      const consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 50 });
      consumer.on(consumer.events.FETCH, () => void fetches++);
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommitThreshold: 1,
        eachMessage: async ({ message }) => void seen.push(String(message.value)),
      });
      await until(() => seen.length >= expected, 20_000, `${expected} records`);
      const after = fetches;
      await until(() => fetches > after + 1, 20_000, 'a fetch after them');
      await consumer.disconnect();
      return seen;
    };
    expect((await read(30)).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `m${i}`).sort());
    await first.stop();

    const second = await startKafkaBroker({ dataDir: dir, ports: [port] });
    expect(second.bootstrap).toEqual(first.bootstrap);
    expect(second.cluster.topics.get(topic)?.length).toBe(3);
    expect(second.cluster.topics.get('listed')?.length).toBe(2);
    expect(second.cluster.topicConfigs.get(topic)).toEqual({ 'retention.ms': '1000' });
    kafka = new Kafka({ clientId: 'data-dir', brokers: second.bootstrap, logLevel: logLevel.NOTHING });
    const again = kafka.admin();
    await again.connect();
    const high = await again.fetchTopicOffsets(topic);
    const committed = await again.fetchOffsets({ groupId: group, topics: [topic] });
    await again.disconnect();
    expect(high.reduce((n, p) => n + Number(p.high), 0)).toBe(30);
    expect(committed[0]?.partitions.map((p) => p.offset).sort()).toEqual(high.map((p) => p.high).sort());
    // Nothing new for the group: it resumes at its committed offsets.
    expect(await read(0)).toEqual([]);
    const fresh: string[] = [];
    const consumer = kafka.consumer({ groupId: `other-${randomUUID()}`, maxWaitTimeInMs: 50 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void fresh.push(String(message.value)) });
    await until(() => fresh.length === 30, 20_000, '30 records read again');
    await consumer.disconnect();
    await second.stop();
  });

  it('rebuilds idempotent producer state from the batches: a retried batch gets its offset back, ids continue past the stored ones', async () => {
    const dir = tempDir();
    const first = new Cluster({ dataDir: dir });
    first.createTopic('t', 1);
    const log = first.partition('t', 0)?.log as PartitionLog;
    expect(log.append(batch({ producerId: 5000n, epoch: 0, sequence: 0, count: 2 }))).toEqual({ baseOffset: 0n });
    expect(log.append(batch({ producerId: 5000n, epoch: 0, sequence: 2, count: 3 }))).toEqual({ baseOffset: 2n });
    await first.close();
    const second = new Cluster({ dataDir: dir });
    const again = second.partition('t', 0)?.log as PartitionLog;
    expect(again.append(batch({ producerId: 5000n, epoch: 0, sequence: 2, count: 3 }))).toEqual({ baseOffset: 2n });
    expect(again.append(batch({ producerId: 5000n, epoch: 0, sequence: 9, count: 1 }))).toEqual({
      error: 'out-of-order',
    });
    expect(again.append(batch({ producerId: 5000n, epoch: 0, sequence: 5, count: 1 }))).toEqual({ baseOffset: 5n });
    expect(second.nextProducerId()).toBe(5001n);
    await second.close();
  });

  it('with fsync: the same round trip', async () => {
    const dir = tempDir();
    const first = await startKafkaBroker({ dataDir: dir, fsync: true, topics: ['t'] });
    const port = first.cluster.brokers[0]?.port as number;
    const kafka = new Kafka({ clientId: 'fsync', brokers: first.bootstrap, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 't', acks: -1, messages: [{ value: 'a' }, { value: 'b' }] });
    await producer.disconnect();
    let seen = 0;
    const consumer = kafka.consumer({ groupId: 'g', maxWaitTimeInMs: 50 });
    await consumer.connect();
    await consumer.subscribe({ topic: 't', fromBeginning: true });
    await consumer.run({ autoCommitThreshold: 1, eachMessage: async () => void seen++ });
    await until(() => seen === 2, 20_000, 'both records');
    await consumer.disconnect();
    await first.stop();
    const second = await startKafkaBroker({ dataDir: dir, ports: [port] });
    expect(second.cluster.partition('t', 0)?.log.endOffset).toBe(2n);
    expect(second.cluster.groups.committed('g', 't', 0)).toEqual({ offset: 2n, metadata: null });
    await second.stop();
  });
});

describe('dataDir: one live cluster per directory; options', () => {
  it('a second cluster on a directory in use is refused; after stop() or a kill of the holder it starts', async () => {
    const dir = tempDir();
    const first = await startKafkaBroker({ dataDir: dir });
    await expect(startKafkaBroker({ dataDir: dir })).rejects.toThrow(
      `data directory ${dir} is in use by process ${process.pid}`,
    );
    await first.stop();
    const second = await startKafkaBroker({ dataDir: dir });
    await second.stop();
    // A lock left by a process that was killed (here: one that has exited) is taken over.
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => gone.once('exit', resolve));
    writeFileSync(join(dir, 'lock'), String(gone.pid));
    const third = await startKafkaBroker({ dataDir: dir });
    expect(readFileSync(join(dir, 'lock'), 'utf8')).toBe(String(process.pid));
    await third.stop();
    expect(readdirSync(dir).sort()).toEqual(['partitions']);
  });

  it('a start that fails (a port in use) releases the directory', async () => {
    const dir = tempDir();
    const holder = await startKafkaBroker({});
    const port = holder.cluster.brokers[0]?.port as number;
    await expect(startKafkaBroker({ dataDir: dir, ports: [port] })).rejects.toThrow(/EADDRINUSE/);
    await holder.stop();
    const later = await startKafkaBroker({ dataDir: dir });
    await later.stop();
  });

  it('invalid dataDir and fsync are refused naming the option', () => {
    expect(() => new Cluster({ dataDir: '' })).toThrow('Invalid option "dataDir"');
    expect(() => new Cluster({ dataDir: 42 as unknown as string })).toThrow(TypeError);
    expect(() => new Cluster({ fsync: true })).toThrow('Invalid option "fsync": needs "dataDir"');
    expect(() => new Cluster({ dataDir: tempDir(), fsync: 'yes' as unknown as boolean })).toThrow(
      'Invalid option "fsync"',
    );
  });
});
