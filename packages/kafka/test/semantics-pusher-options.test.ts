// KafkaPusher's share of issue #17's semantics: ttlMs stamps q-expires-at (an earlier one is kept),
// maxLength / overflow are refused with UnsupportedFeatureError (Kafka has no message-count limit),
// and acks other than -1 warn once when the pusher connects.
import { randomUUID } from 'node:crypto';
import { EXPIRES_AT_HEADER, InvalidOptionError, UnsupportedFeatureError } from '@q/core';
import { KafkaPusher } from '@q/kafka';
import { type KafkaTestBroker, startKafkaBroker } from '@q/kafka-testkit';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { readTopic } from './support/target.js';
import { silent } from './support/test-constants.js';

const brokers: KafkaTestBroker[] = [];
afterEach(async () => {
  await Promise.all(brokers.splice(0).map((b) => b.stop()));
});

async function brokerWithTopic(): Promise<{ broker: KafkaTestBroker; topic: string }> {
  const broker = await startKafkaBroker();
  brokers.push(broker);
  const topic = `opts-${randomUUID()}`;
  broker.cluster.createTopic(topic, 1);
  return { broker, topic };
}

const base = { brokers: ['127.0.0.1:1'], topic: 't' };

describe('KafkaPusher ttlMs', () => {
  it('stamps push time + ttlMs on every kind of push; a carried earlier expiry is kept, a later one replaced', async () => {
    const { broker, topic } = await brokerWithTopic();
    const pusher = new KafkaPusher({
      brokers: broker.bootstrap,
      topic,
      ttlMs: 5000,
      flushIntervalMs: 1,
      logger: silent,
    });
    const from = Date.now();
    await pusher.pushAndConfirm('plain');
    await pusher.pushWithKey('k', 'keyed');
    await pusher.pushBatch([
      { key: null, value: Buffer.from('earlier'), headers: { [EXPIRES_AT_HEADER]: '1000' } },
      { key: null, value: Buffer.from('later'), headers: { [EXPIRES_AT_HEADER]: String(from + 3_600_000) } },
      { key: null, value: Buffer.from('unreadable'), headers: { [EXPIRES_AT_HEADER]: 'soon' } },
    ]);
    await pusher.close();
    const to = Date.now();
    const kafka = new Kafka({ brokers: broker.bootstrap, logLevel: logLevel.NOTHING });
    const records = await readTopic(kafka, topic, 5);
    const at = new Map(records.map((r) => [r.value, r.headers[EXPIRES_AT_HEADER]]));
    expect(at.get('earlier')).toBe('1000');
    for (const value of ['plain', 'keyed', 'later', 'unreadable']) {
      const stamped = Number(at.get(value));
      expect(stamped).toBeGreaterThanOrEqual(from + 5000);
      expect(stamped).toBeLessThanOrEqual(to + 5000);
    }
  }, 30_000);

  it('without ttlMs nothing is stamped', async () => {
    const { broker, topic } = await brokerWithTopic();
    const pusher = new KafkaPusher({ brokers: broker.bootstrap, topic, flushIntervalMs: 1, logger: silent });
    await pusher.pushAndConfirm('plain');
    await pusher.close();
    const [record] = await readTopic(new Kafka({ brokers: broker.bootstrap, logLevel: logLevel.NOTHING }), topic, 1);
    expect(record?.headers[EXPIRES_AT_HEADER]).toBeUndefined();
  }, 30_000);

  it.each([-1, 1.5, 2 ** 31, '100', Number.NaN])('ttlMs %s is refused with InvalidOptionError naming it', (ttlMs) => {
    expect(() => new KafkaPusher({ ...base, ttlMs: ttlMs as number })).toThrow(InvalidOptionError);
    expect(() => new KafkaPusher({ ...base, ttlMs: ttlMs as number })).toThrow(/ttlMs/);
  });

  it('ttlMs 0 is accepted (expire unless received at once)', async () => {
    const pusher = new KafkaPusher({ ...base, ttlMs: 0 });
    await pusher.close({ timeoutMs: 0 });
  });
});

describe('KafkaPusher maxLength / overflow', () => {
  it.each([
    ['maxLength', { maxLength: 1000 }],
    ['overflow', { overflow: 'reject-publish' }],
    ['maxLength', { maxLength: 10, overflow: 'drop-head' }],
  ])('%s is refused with UnsupportedFeatureError', (feature, extra) => {
    let error: unknown;
    try {
      new KafkaPusher({ ...base, ...(extra as object) });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnsupportedFeatureError);
    const e = error as UnsupportedFeatureError;
    expect(e.code).toBe('Q_UNSUPPORTED');
    expect(e.adapter).toBe('kafka');
    expect(e.feature).toBe(feature);
    expect(e.message).toContain(
      'Kafka topics have no message-count limit; use retention.bytes / retention.ms on the topic',
    );
  });
});

describe('KafkaPusher acks warning', () => {
  const warnings = async (acks: -1 | 0 | 1): Promise<string[]> => {
    const { broker, topic } = await brokerWithTopic();
    const lines: string[] = [];
    const logger = { ...silent, warn: (_fields: unknown, message?: string) => void lines.push(String(message)) };
    const pusher = new KafkaPusher({ brokers: broker.bootstrap, topic, acks, flushIntervalMs: 1, logger });
    await pusher.pushAndConfirm('one');
    await pusher.pushAndConfirm('two');
    await pusher.close();
    return lines.filter((l) => l.includes('acks'));
  };

  it('acks 1 warns once, at connect', async () => {
    const lines = await warnings(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('acks 1');
  }, 20_000);

  it('acks 0 warns once', async () => {
    const lines = await warnings(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('acks 0');
  }, 20_000);

  it('acks -1 does not warn', async () => {
    expect(await warnings(-1)).toEqual([]);
  }, 20_000);
});
