// Chaos through the proxy process into Redis: 200,000 messages from 256 keep-alive connections to
// `q-outbox serve`, each retried with its Idempotency-Key until answered 200, while the proxy is
// SIGKILLed 3 times (restarted on the same directory and port) and its redis-server is frozen
// (SIGSTOP 2 s) and later killed and started again on its fsync'd append-only file. At the end every
// acknowledged message is in the list exactly once, in the order of the ids the proxy answered.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type RedisChaosBroker, redisChaosBroker } from './support/chaos-brokers.js';
import { sendOverHttp } from './support/chaos-http-senders.js';
import { type ProxyTarget, startProxyTarget } from './support/chaos-proxy-target.js';
import { runSchedule, standardSchedule } from './support/chaos-schedule.js';
import { countDelivery, firstOutOfOrder, formatCounts } from './support/chaos-verify.js';

const COUNT = 200_000;
const SENDERS = 256;

let broker: RedisChaosBroker | undefined;
let target: ProxyTarget | undefined;
let reader: Redis | undefined;
const dir = mkdtempSync(join(tmpdir(), 'q-chaos-proxy-redis-'));
afterAll(async () => {
  reader?.disconnect();
  await target?.dispose();
  await broker?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('chaos: q-outbox serve into Redis', () => {
  it(`${COUNT} messages from ${SENDERS} senders, proxy SIGKILLed 3 times, Redis frozen then killed: every acknowledged message exactly once`, async () => {
    const started = Date.now();
    const cpuAtStart = process.cpuUsage();
    broker = await redisChaosBroker();
    target = await startProxyTarget(join(dir, 'outbox'), broker.sinkUrl);
    const prefix = 'm';
    const sending = sendOverHttp({
      origin: target.origin,
      count: COUNT,
      senders: SENDERS,
      prefix,
      deadlineMs: 200_000,
    });
    const chaos = runSchedule(standardSchedule(target, broker), sending.acked, COUNT, 200_000);
    // Both settle before anything is judged: a failed step must not leave the senders running.
    const [report, events] = await Promise.all([sending.done, chaos]);
    const sentMs = Date.now() - started;
    const cpu = process.cpuUsage(cpuAtStart);
    const cpuLine = `CPU while sending: this process (the senders) ${Math.round((cpu.user + cpu.system) / 1000)} ms, the proxies ${Math.round(target.cpuMs())} ms`;
    await target.drained(60_000);

    reader = new Redis(broker.url, { maxRetriesPerRequest: 1 });
    const bodies = await reader.lrange(broker.key, 0, -1);
    const acked = new Set<number>();
    for (let n = 0; n < COUNT; n++) if (report.ids[n] !== undefined) acked.add(n);
    const counts = countDelivery(bodies, { prefix, acked, unknown: new Set() });
    const seqOf = (n: number): number | undefined => {
      const id = report.ids[n];
      return id === undefined ? undefined : Number(id.slice(id.lastIndexOf(':') + 1));
    };
    const disorder = firstOutOfOrder(bodies, prefix, seqOf);
    console.log(
      [
        formatCounts('proxy -> Redis', counts),
        `requests ${report.requests} (retries ${report.requests - COUNT}), answered duplicate ${report.duplicateAnswers}, failed attempts ${JSON.stringify(report.failures)}`,
        cpuLine,
        `chaos: ${events.map((e) => `${e.name} at ${e.ackedAtStart} (${e.ms} ms)`).join('; ')}`,
        `sent in ${sentMs} ms, total ${Date.now() - started} ms`,
      ].join('\n'),
    );

    expect(acked.size).toBe(COUNT);
    expect(counts.missing, `missing, e.g. ${counts.examples.missing}`).toBe(0);
    expect(counts.duplicated, `duplicated, e.g. ${counts.examples.duplicated}`).toBe(0);
    expect(counts.strangers, `strangers, e.g. ${counts.examples.strangers}`).toBe(0);
    expect(counts.records).toBe(COUNT);
    expect(disorder, 'a lower id after a higher one in the list').toBeUndefined();
    // The faults happened: three proxy kills (each cutting requests under way), the broker's two.
    expect(events).toHaveLength(4);
    expect(report.requests).toBeGreaterThan(COUNT);
    // A clean stop after all that.
    expect(await target.stop()).toBe(0);
  }, 240_000);
});
