/**
 * Reads a chaos run's topic to its end twice, at the same time, through `KafkaQueue`: once as it is
 * (every record: Kafka's at-least-once) and once with `dedupe: 'outbox-id'` (the replays an outbox
 * wrote again dropped before the handler: exactly once).
 */
import { randomUUID } from 'node:crypto';
import { silentLogger } from '@q/core';
import { KafkaQueue } from '@q/kafka';
import { Kafka, logLevel } from 'kafkajs';

/** What the two reads saw. */
export interface KafkaReads {
  /** Records in the topic (the partitions' end offsets, summed). */
  readonly records: number;
  /** Every record's value, read without de-duplication. */
  readonly raw: string[];
  /** The values the de-duplicating queue handed to its handler. */
  readonly deduped: string[];
  /** Records the de-duplicating queue dropped as replays. */
  readonly dropped: number;
  /** How long the reads took. */
  readonly ms: number;
}

/** The sum of the partitions' end offsets of `topic`. */
async function endOffsets(bootstrap: string[], topic: string): Promise<number> {
  const kafka = new Kafka({ clientId: 'q-chaos', brokers: bootstrap, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Reads `topic` to its end both ways (see {@link KafkaReads}); fails after `timeoutMs`. */
export async function readBothWays(bootstrap: string[], topic: string, timeoutMs: number): Promise<KafkaReads> {
  const started = Date.now();
  const records = await endOffsets(bootstrap, topic);
  const raw: string[] = [];
  const deduped: string[] = [];
  const queue = (dedupe: boolean, into: string[]) =>
    new KafkaQueue(
      {
        brokers: bootstrap,
        group: `chaos-read-${dedupe ? 'dedupe' : 'raw'}-${randomUUID()}`,
        topic,
        offset: 'first',
        maxWaitMs: 50,
        logger: silentLogger,
        ...(dedupe ? { dedupe: 'outbox-id' as const } : {}),
      },
      (m) => {
        into.push(String(m.value));
      },
    );
  const rawQueue = queue(false, raw);
  const dedupeQueue = queue(true, deduped);
  const runs = [rawQueue.start(), dedupeQueue.start()];
  const deadline = Date.now() + timeoutMs;
  try {
    while (raw.length < records || deduped.length + dedupeQueue.duplicatesDropped() < records) {
      if (Date.now() > deadline)
        throw new Error(
          `read ${raw.length} raw and ${deduped.length} + ${dedupeQueue.duplicatesDropped()} dropped of ${records} records in ${timeoutMs} ms`,
        );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await Promise.all([rawQueue.stop({ timeoutMs: 10_000 }), dedupeQueue.stop({ timeoutMs: 10_000 })]);
    await Promise.allSettled(runs);
  }
  return { records, raw, deduped, dropped: dedupeQueue.duplicatesDropped(), ms: Date.now() - started };
}
