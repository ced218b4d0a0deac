/**
 * The in-process chaos suites, one per sink, each run by a test file per mode (so that each file
 * stays well within its time budget): an Outbox in a worker process takes 200,000 sends from 256
 * concurrent loops while the worker is SIGKILLed 3 times (restarted on the same directory) and the
 * broker is frozen (SIGSTOP 2 s) and later killed and started again on its data. At the end every
 * send that resolved is in the broker: Redis exactly once, in the order of its id; Kafka at least
 * once, and exactly once through a KafkaQueue with dedupe: 'outbox-id'. A send under way at a kill
 * (never told, never retried: its sender died with the outbox) is there once or not at all.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type ChaosBroker, kafkaChaosBroker, redisChaosBroker } from './chaos-brokers.js';
import { readBothWays } from './chaos-kafka-read.js';
import { runSchedule, standardSchedule } from './chaos-schedule.js';
import { countDelivery, firstOutOfOrder, formatCounts } from './chaos-verify.js';
import { startWorkerTarget, type WorkerTarget } from './chaos-worker-target.js';

const COUNT = 200_000;
const SENDERS = 256;
const PARTITIONS = 4;

/** The outbox's mode under test. */
export type ChaosMode = 'write-ahead' | 'direct-first';

/** What a suite starts, released after its file. */
function resources(what: string): {
  dir: string;
  brokers: ChaosBroker[];
  targets: WorkerTarget[];
  readers: Redis[];
} {
  const r = {
    dir: mkdtempSync(join(tmpdir(), `q-chaos-in-process-${what}-`)),
    brokers: [] as ChaosBroker[],
    targets: [] as WorkerTarget[],
    readers: [] as Redis[],
  };
  afterAll(async () => {
    for (const reader of r.readers) reader.disconnect();
    for (const t of r.targets) await t.dispose();
    for (const b of r.brokers) await b.dispose();
    rmSync(r.dir, { recursive: true, force: true });
  });
  return r;
}

/** The direct-first worker ran both its paths: straight to the broker, and spilled to the log while it was frozen. */
function expectBothPaths(target: WorkerTarget): void {
  const told = target.stats.filter((s) => s !== undefined);
  expect(Math.max(...told.map((s) => s.direct))).toBeGreaterThan(0);
  expect(Math.max(...told.map((s) => s.spilled))).toBeGreaterThan(0);
}

/** The Redis suite for `mode`. */
export function inProcessRedisChaos(mode: ChaosMode): void {
  const { dir, brokers, targets, readers } = resources(`redis-${mode}`);
  describe('chaos: an Outbox in a worker process, into Redis', () => {
    it(`${mode}: ${COUNT} sends from ${SENDERS} loops, worker SIGKILLed 3 times, Redis frozen then killed: every resolved send exactly once`, async () => {
      const started = Date.now();
      const broker = await redisChaosBroker();
      brokers.push(broker);
      const prefix = 'm';
      const target = await startWorkerTarget({
        dir: join(dir, 'outbox'),
        sinkUrl: broker.sinkUrl,
        mode,
        prefix,
        count: COUNT,
        senders: SENDERS,
        window: 4 * SENDERS,
      });
      targets.push(target);
      const chaos = runSchedule(standardSchedule(target, broker), target.acked, COUNT, 150_000);
      const [, events] = await Promise.all([target.done, chaos]);
      const sentMs = Date.now() - started;
      await target.drain(60_000);

      const reader = new Redis(broker.url, { maxRetriesPerRequest: 1 });
      readers.push(reader);
      const bodies = await reader.lrange(broker.key, 0, -1);
      const acked = new Set(target.seqs.keys());
      const counts = countDelivery(bodies, { prefix, acked, unknown: target.unknown });
      const disorder = firstOutOfOrder(bodies, prefix, (n) => target.seqs.get(n));
      console.log(
        [
          formatCounts(`${mode} -> Redis`, counts),
          `last stats of each worker (accepted/direct/spilled/forwarded): ${target.stats.map((s) => `${s.accepted}/${s.direct}/${s.spilled}/${s.forwarded}`).join(', ')}`,
          `chaos: ${events.map((e) => `${e.name} at ${e.ackedAtStart} (${e.ms} ms)`).join('; ')}`,
          `sent in ${sentMs} ms, total ${Date.now() - started} ms`,
        ].join('\n'),
      );

      expect(acked.size).toBe(COUNT);
      expect(counts.missing, `missing, e.g. ${counts.examples.missing}`).toBe(0);
      expect(counts.duplicated, `duplicated, e.g. ${counts.examples.duplicated}`).toBe(0);
      expect(counts.strangers, `strangers, e.g. ${counts.examples.strangers}`).toBe(0);
      expect(counts.records).toBe(COUNT + counts.unknownDelivered);
      expect(disorder, 'a lower id after a higher one in the list').toBeUndefined();
      expect(events).toHaveLength(4);
      // Three kills, each with sends under way.
      expect(target.unknown.size).toBeGreaterThan(0);
      if (mode === 'direct-first') expectBothPaths(target);
    }, 150_000);
  });
}

/** The Kafka suite for `mode` (the test broker in its own process, 4 partitions, keyless messages). */
export function inProcessKafkaChaos(mode: ChaosMode): void {
  const { dir, brokers, targets } = resources(`kafka-${mode}`);
  describe('chaos: an Outbox in a worker process, into Kafka', () => {
    it(`${mode}: ${COUNT} sends from ${SENDERS} loops, worker SIGKILLed 3 times, broker frozen then killed: every resolved send at least once, exactly once after dedupe`, async () => {
      const started = Date.now();
      const broker = await kafkaChaosBroker(PARTITIONS);
      brokers.push(broker);
      const prefix = 'm';
      const target = await startWorkerTarget({
        dir: join(dir, 'outbox'),
        sinkUrl: broker.sinkUrl,
        mode,
        prefix,
        count: COUNT,
        senders: SENDERS,
        window: 4 * SENDERS,
      });
      targets.push(target);
      const chaos = runSchedule(standardSchedule(target, broker), target.acked, COUNT, 150_000);
      const [, events] = await Promise.all([target.done, chaos]);
      const sentMs = Date.now() - started;
      await target.drain(60_000);
      const drainedMs = Date.now() - started;

      const reads = await readBothWays(broker.bootstrap, broker.topic, 60_000);
      const sent = { prefix, acked: new Set(target.seqs.keys()), unknown: target.unknown };
      const raw = countDelivery(reads.raw, sent);
      const deduped = countDelivery(reads.deduped, sent);
      console.log(
        [
          formatCounts(`${mode} -> Kafka, as stored`, raw),
          formatCounts(`${mode} -> Kafka, dedupe outbox-id`, deduped),
          `dedupe dropped ${reads.dropped} of ${reads.records} records; read both ways in ${reads.ms} ms`,
          `last stats of each worker (accepted/direct/spilled/forwarded): ${target.stats.map((s) => `${s.accepted}/${s.direct}/${s.spilled}/${s.forwarded}`).join(', ')}`,
          `chaos: ${events.map((e) => `${e.name} at ${e.ackedAtStart} (${e.ms} ms)`).join('; ')}`,
          `sent in ${sentMs} ms, drained at ${drainedMs} ms, total ${Date.now() - started} ms`,
        ].join('\n'),
      );

      expect(sent.acked.size).toBe(COUNT);
      expect(raw.missing, `missing as stored, e.g. ${raw.examples.missing}`).toBe(0);
      expect(raw.strangers, `strangers, e.g. ${raw.examples.strangers}`).toBe(0);
      expect(deduped.missing, `missing after dedupe, e.g. ${deduped.examples.missing}`).toBe(0);
      expect(deduped.duplicated, `duplicated after dedupe, e.g. ${deduped.examples.duplicated}`).toBe(0);
      expect(deduped.records).toBe(COUNT + deduped.unknownDelivered);
      expect(reads.dropped).toBe(raw.extraCopies);
      expect(events).toHaveLength(4);
      expect(target.unknown.size).toBeGreaterThan(0);
      if (mode === 'direct-first') expectBothPaths(target);
    }, 150_000);
  });
}
