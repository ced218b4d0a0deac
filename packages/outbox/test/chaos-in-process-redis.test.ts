// Chaos in process, into Redis: an Outbox in a worker process (write-ahead, then direct-first) takes
// 200,000 sends from 256 concurrent loops while the worker is SIGKILLed 3 times (restarted on the
// same directory) and its redis-server is frozen (SIGSTOP 2 s) and later killed and started again on
// its fsync'd append-only file. At the end every send that resolved is in the list exactly once, in
// the order of its id; a send under way at a kill (never told, never retried) is there once or not at all.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type RedisChaosBroker, redisChaosBroker } from './support/chaos-brokers.js';
import { runSchedule, standardSchedule } from './support/chaos-schedule.js';
import { countDelivery, firstOutOfOrder, formatCounts } from './support/chaos-verify.js';
import { startWorkerTarget, type WorkerTarget } from './support/chaos-worker-target.js';

const COUNT = 200_000;
const SENDERS = 256;

const brokers: RedisChaosBroker[] = [];
const targets: WorkerTarget[] = [];
const readers: Redis[] = [];
const dir = mkdtempSync(join(tmpdir(), 'q-chaos-in-process-redis-'));
afterAll(async () => {
  for (const r of readers) r.disconnect();
  for (const t of targets) await t.dispose();
  for (const b of brokers) await b.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('chaos: an Outbox in a worker process, into Redis', () => {
  for (const mode of ['write-ahead', 'direct-first'] as const) {
    it(`${mode}: ${COUNT} sends from ${SENDERS} loops, worker SIGKILLed 3 times, Redis frozen then killed: every resolved send exactly once`, async () => {
      const started = Date.now();
      const broker = await redisChaosBroker();
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
      if (mode === 'direct-first') {
        // Both of its paths ran: straight to the broker, and spilled to the log while it was frozen.
        const told = target.stats.filter((s) => s !== undefined);
        expect(Math.max(...told.map((s) => s.direct))).toBeGreaterThan(0);
        expect(Math.max(...told.map((s) => s.spilled))).toBeGreaterThan(0);
      }
    }, 150_000);
  }
});
