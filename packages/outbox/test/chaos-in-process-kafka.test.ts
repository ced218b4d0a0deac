// Chaos in process, into Kafka: an Outbox in a worker process (write-ahead, then direct-first) takes
// 200,000 sends from 256 concurrent loops while the worker is SIGKILLed 3 times (restarted on the
// same directory) and the test broker's process is frozen (SIGSTOP 2 s) and later killed and started
// again on its data directory. At the end every send that resolved is in the topic at least once,
// and exactly once through a KafkaQueue with dedupe: 'outbox-id'; a send under way at a kill (never
// told, never retried) is handled once or not at all.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type KafkaChaosBroker, kafkaChaosBroker } from './support/chaos-brokers.js';
import { readBothWays } from './support/chaos-kafka-read.js';
import { runSchedule, standardSchedule } from './support/chaos-schedule.js';
import { countDelivery, formatCounts } from './support/chaos-verify.js';
import { startWorkerTarget, type WorkerTarget } from './support/chaos-worker-target.js';

const COUNT = 200_000;
const SENDERS = 256;
const PARTITIONS = 4;

const brokers: KafkaChaosBroker[] = [];
const targets: WorkerTarget[] = [];
const dir = mkdtempSync(join(tmpdir(), 'q-chaos-in-process-kafka-'));
afterAll(async () => {
  for (const t of targets) await t.dispose();
  for (const b of brokers) await b.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('chaos: an Outbox in a worker process, into Kafka', () => {
  for (const mode of ['write-ahead', 'direct-first'] as const) {
    it(`${mode}: ${COUNT} sends from ${SENDERS} loops, worker SIGKILLed 3 times, broker frozen then killed: every resolved send at least once, exactly once after dedupe`, async () => {
      const started = Date.now();
      const broker = await kafkaChaosBroker(PARTITIONS);
      brokers.push(broker);
      const prefix = 'm';
      const target = await startWorkerTarget({
        dir: join(dir, mode),
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
      if (mode === 'direct-first') {
        // Both of its paths ran: straight to the broker, and spilled to the log while it was frozen.
        const told = target.stats.filter((s) => s !== undefined);
        expect(Math.max(...told.map((s) => s.direct))).toBeGreaterThan(0);
        expect(Math.max(...told.map((s) => s.spilled))).toBeGreaterThan(0);
      }
    }, 150_000);
  }
});
