import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SpawnedKafkaBroker, spawnKafkaBroker } from '@q/kafka-testkit';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { delay, until } from '../../../test-support/wait.js';

const temps: string[] = [];
const brokers: SpawnedKafkaBroker[] = [];
afterAll(async () => {
  for (const b of brokers) await b.stop();
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kt-kill-'));
  temps.push(dir);
  return dir;
}
async function spawned(options: Parameters<typeof spawnKafkaBroker>[0]): Promise<SpawnedKafkaBroker> {
  const b = await spawnKafkaBroker(options);
  brokers.push(b);
  return b;
}

/** A client that keeps retrying while the broker is down (a restart takes a second or two). */
function client(bootstrap: string[]): Kafka {
  return new Kafka({
    clientId: 'kill',
    brokers: bootstrap,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 500,
    requestTimeout: 3000,
    retry: { retries: 200, initialRetryTime: 50, maxRetryTime: 300 },
  });
}

/**
 * Reads every partition of `topic` from offset 0 to its end with a group-less consumer, and returns
 * per partition the values by offset (an offset read twice must carry the same value).
 */
async function readAll(kafka: Kafka, topic: string): Promise<Map<number, Map<string, string>>> {
  const admin = kafka.admin();
  await admin.connect();
  const high = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = high.reduce((n, p) => n + Number(p.high), 0);
  const out = new Map<number, Map<string, string>>(high.map((p) => [p.partition, new Map()]));
  let read = 0;
  const consumer = kafka.consumer({ groupId: `read-${randomUUID()}`, maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const byOffset = out.get(partition) as Map<string, string>;
      const before = byOffset.get(message.offset);
      if (before !== undefined && before !== String(message.value))
        throw new Error(`offset ${partition}/${message.offset} read as ${before}, then ${String(message.value)}`);
      if (before === undefined) read++;
      byOffset.set(message.offset, String(message.value));
    },
  });
  await until(() => read === total, 30_000, `${total} records read`);
  await consumer.disconnect();
  return out;
}

describe('dataDir: the broker process killed (SIGKILL) and started again on the same directory and port', () => {
  for (const idempotent of [false, true]) {
    it(`mid-stream, twice, producer ${idempotent ? 'idempotent: every acknowledged message exactly once' : 'acks -1: every acknowledged message at least once'}, offsets contiguous`, async () => {
      const dir = tempDir();
      const topic = `kill-${randomUUID()}`;
      const partitions = 3;
      let broker = await spawned({ dataDir: dir, partitions, topics: [topic] });
      const port = broker.port;
      const kafka = client(broker.bootstrap);
      const producer = kafka.producer(idempotent ? { idempotent: true, maxInFlightRequests: 1 } : {});
      await producer.connect();
      const N = 2000;
      const PER_SEND = 10;
      const acked: string[] = [];
      let next = 0;
      // Two senders (acks -1), so that sends are in flight when the broker dies. A send that fails in the end
      // is sent again (its messages are not acknowledged until one succeeds).
      const sender = async (): Promise<void> => {
        while (next < N) {
          const values = Array.from({ length: PER_SEND }, (_, i) => `m${next + i}`);
          next += PER_SEND;
          for (let attempt = 0; ; attempt++) {
            try {
              await producer.send({ topic, acks: -1, messages: values.map((value) => ({ key: value, value })) });
              break;
            } catch (error) {
              if (attempt === 20) throw error;
              await delay(200);
            }
          }
          acked.push(...values);
        }
      };
      // Idempotent: one sender. kafkajs takes a partition's sequence numbers when it builds a request and
      // gives them back when the request fails; a request the killed broker had written but not answered
      // then leaves its numbers to the other sender's next batch, which the broker rightly refuses as out of
      // order (a real Kafka does too) and kafkajs treats as fatal. One sender retries its own batch with its
      // own numbers, which the broker finds as a duplicate: the exactly-once promise under test.
      const sending = Promise.all(idempotent ? [sender()] : [sender(), sender()]);
      for (const at of [Math.floor(N / 3), Math.floor((2 * N) / 3)]) {
        await until(() => acked.length >= at, 30_000, `${at} acknowledged`);
        await broker.kill();
        const ackedAtKill = acked.length;
        await delay(200);
        broker = await spawned({ dataDir: dir, port, partitions });
        expect(broker.bootstrap[0]).toBe(`127.0.0.1:${port}`);
        expect(ackedAtKill).toBeLessThan(N);
      }
      await sending;
      await producer.disconnect();
      expect(acked.length).toBe(N);

      const stored = await readAll(kafka, topic);
      const counts = new Map<string, number>();
      for (const [partition, byOffset] of stored) {
        // Contiguous: every offset from 0 to the end once, no gap where a torn batch was cut.
        const offsets = [...byOffset.keys()].map(Number).sort((a, b) => a - b);
        expect(offsets, `partition ${partition}`).toEqual(offsets.map((_, i) => i));
        for (const v of byOffset.values()) counts.set(v, (counts.get(v) ?? 0) + 1);
      }
      const missing = acked.filter((v) => !counts.has(v));
      expect(missing, `${missing.length} acknowledged messages lost`).toEqual([]);
      const duplicated = [...counts.values()].filter((c) => c > 1).length;
      if (idempotent) expect(duplicated, 'duplicates with the idempotent producer').toBe(0);
      await broker.stop();
    }, 60_000);
  }

  it('committed group offsets and topics survive a kill right after the commit was answered', async () => {
    const dir = tempDir();
    const topic = `offsets-${randomUUID()}`;
    const group = `g-${randomUUID()}`;
    let broker = await spawned({ dataDir: dir, partitions: 2, topics: [topic] });
    const port = broker.port;
    const kafka = client(broker.bootstrap);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 20 }, (_, i) => ({ value: `m${i}` })) });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 50 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let seen = 0;
    await consumer.run({ autoCommit: false, eachMessage: async () => void seen++ });
    await until(() => seen === 20, 20_000, '20 records');
    await consumer.commitOffsets([
      { topic, partition: 0, offset: '7' },
      { topic, partition: 1, offset: '3' },
    ]);
    await broker.kill();
    broker = await spawned({ dataDir: dir, port });
    // Stopped only now: its goodbye would wait out the retries while the broker is down. It never
    // commits by itself (autoCommit off), so what is read below is what was committed before the kill.
    await consumer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    const committed = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.disconnect();
    expect(committed[0]?.partitions.sort((a, b) => a.partition - b.partition).map((p) => p.offset)).toEqual(['7', '3']);
    expect(metadata.topics[0]?.partitions.length).toBe(2);
    await broker.stop();
  });

  it('without dataDir nothing is written: not in its working directory, TMPDIR or HOME', async () => {
    const cwd = tempDir();
    const tmp = tempDir();
    const home = tempDir();
    const launcher = fileURLToPath(new URL('../bin/q-kafka-testkit.js', import.meta.url));
    const child = spawn(process.execPath, ['--conditions=@q/source', launcher, '--partitions', '2'], {
      cwd,
      // tsx (running the sources) would keep its cache in TMPDIR: not the broker's doing.
      env: { ...process.env, TMPDIR: tmp, HOME: home, TSX_DISABLE_CACHE: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const address = await new Promise<string>((resolve) =>
        child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())),
      );
      const kafka = client(address.split(','));
      const topic = `memory-${randomUUID()}`;
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic, acks: -1, messages: [{ value: 'a' }, { value: 'b' }] });
      await producer.disconnect();
      const consumer = kafka.consumer({ groupId: `g-${randomUUID()}`, maxWaitTimeInMs: 50 });
      let seen = 0;
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ autoCommitThreshold: 1, eachMessage: async () => void seen++ });
      await until(() => seen === 2, 20_000, 'both records');
      await consumer.disconnect();
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
    expect([readdirSync(cwd), readdirSync(tmp), readdirSync(home)]).toEqual([[], [], []]);
  });
});
