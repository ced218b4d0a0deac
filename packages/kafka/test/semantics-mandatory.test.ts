// Mandatory publishing on Kafka (issue #17): a push to a topic that does not exist is refused with
// UnroutableError and creates nothing, unless allowAutoTopicCreation asks for it. The test broker
// auto-creates topics by default (auto.create.topics.enable), so "nothing created" is the pusher's
// doing, not the broker's.
import { randomUUID } from 'node:crypto';
import { InvalidOptionError, UnroutableError } from '@q/core';
import { KafkaPusher } from '@q/kafka';
import { type KafkaTestBroker, startKafkaBroker } from '@q/kafka-testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { silent } from './support/test-constants.js';

const brokers: KafkaTestBroker[] = [];
const pushers: KafkaPusher[] = [];
afterEach(async () => {
  await Promise.all(pushers.splice(0).map((p) => p.close({ timeoutMs: 2000 })));
  await Promise.all(brokers.splice(0).map((b) => b.stop()));
});

async function broker(): Promise<KafkaTestBroker> {
  const b = await startKafkaBroker();
  brokers.push(b);
  return b;
}

function pusher(b: KafkaTestBroker, topic: string, extra: Partial<ConstructorParameters<typeof KafkaPusher>[0]> = {}) {
  const p = new KafkaPusher({ brokers: b.bootstrap, topic, flushIntervalMs: 1, logger: silent, ...extra });
  pushers.push(p);
  return p;
}

function stored(b: KafkaTestBroker, topic: string): bigint {
  return b.cluster.partition(topic, 0)?.log.endOffset ?? -1n;
}

/** The rejection of `promise`, which must reject. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('resolved, expected a rejection');
    },
    (error: unknown) => error,
  );
}

function expectUnroutable(error: unknown, topic: string): void {
  expect(error).toBeInstanceOf(UnroutableError);
  const e = error as UnroutableError;
  expect(e.code).toBe('Q_UNROUTABLE');
  expect(e.destination).toBe(topic);
  expect(e.reason).toBe('UNKNOWN_TOPIC_OR_PARTITION');
}

describe('KafkaPusher: a push to a topic that does not exist', () => {
  // The test timeout (20 s) is below kafkajs's own minute of retries on UNKNOWN_TOPIC_OR_PARTITION:
  // passing means the pusher asked the cluster instead of retrying the send.
  it('rejects pushAndConfirm, syncPush, pushBatch and flush with UnroutableError; creates nothing', async () => {
    const b = await broker();
    const missing = `missing-${randomUUID()}`;
    const confirming = pusher(b, missing);
    expectUnroutable(await rejection(confirming.pushAndConfirm('a')), missing);
    expectUnroutable(
      await rejection(confirming.pushBatch(['b', 'c', { key: null, value: Buffer.from('d') }])),
      missing,
    );
    const sync = pusher(b, missing, { syncPush: true });
    const results = await Promise.allSettled(['e', 'f', 'g'].map((v) => sync.push(v)));
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expectUnroutable((r as PromiseRejectedResult).reason, missing);
    }
    expect(b.cluster.topics.has(missing)).toBe(false);
  }, 20_000);

  it('plain push: resolves once accepted, and onError gets the UnroutableError with the messages', async () => {
    const b = await broker();
    const missing = `missing-${randomUUID()}`;
    const errors: { error: unknown; count: number }[] = [];
    const p = pusher(b, missing, { onError: (error, messages) => errors.push({ error, count: messages.length }) });
    for (let i = 0; i < 5; i++) await p.push(`m${i}`);
    await p.flush().catch(() => {});
    await until(() => errors.reduce((n, e) => n + e.count, 0) === 5, 15_000, 'all 5 reported to onError');
    for (const e of errors) expectUnroutable(e.error, missing);
    expect(b.cluster.topics.has(missing)).toBe(false);
  }, 20_000);

  it('leaves pushes to an existing topic alone: every one of them is stored', async () => {
    const b = await broker();
    const missing = `missing-${randomUUID()}`;
    const present = `present-${randomUUID()}`;
    b.cluster.createTopic(present, 1);
    const bad = pusher(b, missing);
    const good = pusher(b, present);
    const sent = Array.from({ length: 200 }, (_, i) => `v${i}`);
    const [refused, accepted] = await Promise.all([
      Promise.allSettled(sent.map((v) => bad.pushAndConfirm(v))),
      Promise.allSettled(sent.map((v) => good.pushAndConfirm(v))),
    ]);
    expect(refused.filter((r) => r.status === 'rejected')).toHaveLength(200);
    expect(accepted.filter((r) => r.status === 'fulfilled')).toHaveLength(200);
    expect(stored(b, present)).toBe(200n);
    expect(b.cluster.topics.has(missing)).toBe(false);
  }, 20_000);

  it('is not remembered: once the topic is created, the same pusher writes to it', async () => {
    const b = await broker();
    const later = `later-${randomUUID()}`;
    const p = pusher(b, later);
    expectUnroutable(await rejection(p.pushAndConfirm('before')), later);
    b.cluster.createTopic(later, 1);
    await p.pushAndConfirm('after');
    expect(stored(b, later)).toBe(1n);
  }, 20_000);

  it('with allowAutoTopicCreation: true, the broker creates the topic and the push is confirmed', async () => {
    const b = await broker();
    const fresh = `auto-${randomUUID()}`;
    const p = pusher(b, fresh, { allowAutoTopicCreation: true });
    await p.pushAndConfirm('created');
    expect(b.cluster.topics.has(fresh)).toBe(true);
  }, 20_000);

  it('allowAutoTopicCreation must be a boolean', () => {
    expect(
      () => new KafkaPusher({ brokers: ['127.0.0.1:1'], topic: 't', allowAutoTopicCreation: 'yes' as never }),
    ).toThrow(InvalidOptionError);
    expect(
      () => new KafkaPusher({ brokers: ['127.0.0.1:1'], topic: 't', allowAutoTopicCreation: 'yes' as never }),
    ).toThrow(/allowAutoTopicCreation/);
  });
});
