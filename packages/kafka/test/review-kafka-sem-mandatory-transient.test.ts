// Review of issue #17, mandatory publishing: the pusher's one-shot metadata lookup treats a single
// UNKNOWN_TOPIC_OR_PARTITION answer as "the topic does not exist". Kafka answers so for a moment
// for a topic that is being created (a broker whose metadata cache has not caught up with the
// controller; kafka-pusher's own comment in kafkajs-client.ts says as much), so a push right after
// creating a topic is refused with UnroutableError although the topic exists and kafkajs alone
// would have written it. The test broker injects that one transient answer.
import { randomUUID } from 'node:crypto';
import { KafkaPusher } from '@q/kafka';
import { type KafkaTestBroker, startKafkaBroker } from '@q/kafka-testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { silent } from './support/test-constants.js';

const METADATA = 3;
const UNKNOWN_TOPIC_OR_PARTITION = 3;

const brokers: KafkaTestBroker[] = [];
const pushers: KafkaPusher[] = [];
afterEach(async () => {
  await Promise.all(pushers.splice(0).map((p) => p.close({ timeoutMs: 2000 })));
  await Promise.all(brokers.splice(0).map((b) => b.stop()));
});

describe('KafkaPusher mandatory lookup: a topic that exists', () => {
  it('is written when one metadata answer says UNKNOWN_TOPIC_OR_PARTITION (the topic was just created)', async () => {
    const b = await startKafkaBroker({ autoCreateTopics: false });
    brokers.push(b);
    const fresh = `fresh-${randomUUID()}`;
    b.cluster.createTopic(fresh, 1);
    const q = new KafkaPusher({ brokers: b.bootstrap, topic: fresh, flushIntervalMs: 1, logger: silent });
    pushers.push(q);
    b.injectError({ apiKey: METADATA, errorCode: UNKNOWN_TOPIC_OR_PARTITION, topic: fresh, times: 1 });
    const outcome = await q.pushAndConfirm('first').then(
      () => 'confirmed',
      (e: unknown) => `rejected: ${(e as Error).name} ${(e as Error).message}`,
    );
    // Observed: rejected with UnroutableError (Q_UNROUTABLE) for a topic that exists.
    expect(outcome).toBe('confirmed');
    expect(b.cluster.partition(fresh, 0)?.log.endOffset).toBe(1n);
  }, 20_000);
});
