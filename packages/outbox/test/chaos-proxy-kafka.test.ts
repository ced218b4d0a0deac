// Chaos through the proxy process into Kafka: 200,000 messages from 256 keep-alive connections to
// `q-outbox serve --sink kafka://...`, each retried with its Idempotency-Key until answered 200, while
// the proxy is SIGKILLed 3 times (restarted on the same directory and port) and the test broker's
// process is frozen (SIGSTOP 2 s) and later killed and started again on its data directory. At the
// end every acknowledged message is in the topic at least once, and exactly once through a
// KafkaQueue with dedupe: 'outbox-id' (a restarted proxy's new producer replays what the killed one
// had written but not committed in its cursor; the broker's idempotence covers one session only).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type KafkaChaosBroker, kafkaChaosBroker } from './support/chaos-brokers.js';
import { sendOverHttp } from './support/chaos-http-senders.js';
import { readBothWays } from './support/chaos-kafka-read.js';
import { type ProxyTarget, startProxyTarget } from './support/chaos-proxy-target.js';
import { runSchedule, standardSchedule } from './support/chaos-schedule.js';
import { countDelivery, formatCounts } from './support/chaos-verify.js';

const COUNT = 200_000;
const SENDERS = 256;
const PARTITIONS = 4;

let broker: KafkaChaosBroker | undefined;
let target: ProxyTarget | undefined;
const dir = mkdtempSync(join(tmpdir(), 'q-chaos-proxy-kafka-'));
afterAll(async () => {
  await target?.dispose();
  await broker?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('chaos: q-outbox serve into Kafka', () => {
  it(`${COUNT} messages from ${SENDERS} senders, proxy SIGKILLed 3 times, broker frozen then killed: every acknowledged message at least once, exactly once after dedupe`, async () => {
    const started = Date.now();
    const cpuAtStart = process.cpuUsage();
    broker = await kafkaChaosBroker(PARTITIONS);
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
    const [report, events] = await Promise.all([sending.done, chaos]);
    const sentMs = Date.now() - started;
    const cpu = process.cpuUsage(cpuAtStart);
    const cpuLine = `CPU while sending: this process (the senders) ${Math.round((cpu.user + cpu.system) / 1000)} ms, the proxies ${Math.round(target.cpuMs())} ms`;
    await target.drained(60_000);
    const drainedMs = Date.now() - started;

    const reads = await readBothWays(broker.bootstrap, broker.topic, 60_000);
    const acked = new Set<number>();
    for (let n = 0; n < COUNT; n++) if (report.ids[n] !== undefined) acked.add(n);
    const sent = { prefix, acked, unknown: new Set<number>() };
    const raw = countDelivery(reads.raw, sent);
    const deduped = countDelivery(reads.deduped, sent);
    console.log(
      [
        formatCounts('proxy -> Kafka, as stored', raw),
        formatCounts('proxy -> Kafka, dedupe outbox-id', deduped),
        `dedupe dropped ${reads.dropped} of ${reads.records} records; read both ways in ${reads.ms} ms`,
        `requests ${report.requests} (retries ${report.requests - COUNT}), answered duplicate ${report.duplicateAnswers}, failed attempts ${JSON.stringify(report.failures)}`,
        cpuLine,
        `chaos: ${events.map((e) => `${e.name} at ${e.ackedAtStart} (${e.ms} ms)`).join('; ')}`,
        `sent in ${sentMs} ms, drained at ${drainedMs} ms, total ${Date.now() - started} ms`,
      ].join('\n'),
    );

    expect(acked.size).toBe(COUNT);
    // At least once as stored.
    expect(raw.missing, `missing as stored, e.g. ${raw.examples.missing}`).toBe(0);
    expect(raw.strangers, `strangers, e.g. ${raw.examples.strangers}`).toBe(0);
    // Exactly once after the consumer's de-duplication, which dropped exactly the extra copies.
    expect(deduped.missing, `missing after dedupe, e.g. ${deduped.examples.missing}`).toBe(0);
    expect(deduped.duplicated, `duplicated after dedupe, e.g. ${deduped.examples.duplicated}`).toBe(0);
    expect(deduped.records).toBe(COUNT);
    expect(reads.dropped).toBe(raw.extraCopies);
    // The kill during the broker's freeze left a batch written and not committed: replays happened.
    expect(reads.dropped, 'no replay reached the topic: the chaos did not exercise dedupe').toBeGreaterThan(0);
    expect(events).toHaveLength(4);
    expect(report.requests).toBeGreaterThan(COUNT);
    expect(await target.stop()).toBe(0);
  }, 240_000);
});
