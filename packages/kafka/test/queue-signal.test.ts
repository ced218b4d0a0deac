import { randomUUID } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { InvalidOptionError } from '@q/core';
import { type KafkaMessage, KafkaPusher, KafkaQueue } from '@q/kafka';
import { type KafkaTestBroker, startKafkaBroker } from '@q/kafka-testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { clientSockets, portOf } from './support/sockets.js';
import { fastGroup, silent } from './support/test-constants.js';

// What a stop may take beyond its deadline on a loaded 2-core machine: the final commit and leave
// get at least 1 s (see KafkaQueue.stop), plus scheduling slack.
const SLACK_MS = 1500 + 1000;

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts; leaves no listener behind. */
function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const abort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', abort);
      resolve();
    }, ms);
    signal.addEventListener('abort', abort, { once: true });
  });
}

let broker: KafkaTestBroker | undefined;
afterEach(async () => {
  await broker?.stop();
  broker = undefined;
});

/** A fresh broker with messages m0..m{count-1} on a one-partition topic. */
async function seeded(count: number): Promise<{ broker: KafkaTestBroker; topic: string }> {
  broker = await startKafkaBroker();
  const topic = `signal-${randomUUID()}`;
  broker.cluster.createTopic(topic, 1);
  const pusher = new KafkaPusher({ brokers: broker.bootstrap, topic, flushIntervalMs: 1, logger: silent });
  await Promise.all(
    Array.from({ length: count }, (_, i) => pusher.pushAndConfirm({ key: null, value: Buffer.from(`m${i}`) })),
  );
  await pusher.close();
  return { broker, topic };
}

describe('KafkaQueue signal', () => {
  it('an abort stops it as stop() does: drains until stopTimeoutMs, commits what settled; nothing lost or handled twice', async () => {
    const total = 3000;
    const { broker: b, topic } = await seeded(total);
    const group = `g-${randomUUID()}`;
    const handled = new Map<string, number>();
    const controller = new AbortController();
    const stopTimeoutMs = 500;
    const options = {
      brokers: b.bootstrap,
      group,
      topic,
      offset: 'first' as const,
      maxWaitMs: 50,
      commitIntervalMs: 60_000,
      stopTimeoutMs,
      ...fastGroup,
      logger: silent,
    };
    // 2 ms a message, one at a time: the 500 ms drain ends with most of the topic unhandled. A
    // handler cut off by the deadline counts nothing (its message is nacked and read again).
    const queue = new KafkaQueue({ ...options, signal: controller.signal }, async (m: KafkaMessage, context) => {
      await sleepUnlessAborted(2, context.signal);
      handled.set(String(m.value), (handled.get(String(m.value)) ?? 0) + 1);
    });
    const run = queue.start();
    await until(() => handled.size >= 30, 30_000, '30 messages handled');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    const aborted = Date.now();
    controller.abort();
    await run;
    expect(Date.now() - aborted).toBeLessThan(stopTimeoutMs + SLACK_MS);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    const first = handled.size;
    expect(first).toBeLessThan(total);
    expect([...handled.values()].every((n) => n === 1)).toBe(true);
    // The commit interval is a minute: this commit is the stop's, and it covers exactly what settled.
    expect(b.cluster.groups.committed(group, topic, 0)?.offset).toBe(BigInt(first));
    const [stats] = queue.stats();
    expect(stats?.consumed).toBe(first);
    expect(stats?.state).toBe('stopped');
    // stop() after the abort is the same stop.
    await queue.stop();

    // The same group goes on from that commit: the rest, each once.
    const rest = new Map<string, number>();
    const next = new KafkaQueue(options, (m: KafkaMessage) => {
      rest.set(String(m.value), (rest.get(String(m.value)) ?? 0) + 1);
    });
    const nextRun = next.start();
    await until(() => rest.size >= total - first, 30_000, `the other ${total - first} messages`);
    await next.stop();
    await nextRun;
    expect(rest.size).toBe(total - first);
    expect([...rest.keys()].filter((k) => handled.has(k))).toEqual([]);
    expect([...rest.values()].every((n) => n === 1)).toBe(true);
  }, 90_000);

  it('a signal already aborted at start: start() resolves at once, nothing connects, stop() resolves too', async () => {
    broker = await startKafkaBroker();
    const topic = `signal-${randomUUID()}`;
    broker.cluster.createTopic(topic, 1);
    let requests = 0;
    broker.onRequest(() => {
      requests++;
      return undefined;
    });
    const signal = AbortSignal.abort();
    const queue = new KafkaQueue(
      {
        brokers: broker.bootstrap,
        group: `g-${randomUUID()}`,
        topic,
        conns: 2,
        deadLetter: `${topic}-dlq`,
        signal,
        logger: silent,
      },
      () => {},
    );
    const started = Date.now();
    await queue.start();
    await queue.stop();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(requests).toBe(0);
    expect(clientSockets(portOf(broker.bootstrap))).toBe(0);
    expect(queue.stats().map((s) => s.state)).toEqual(['idle', 'idle']);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  }, 30_000);

  it('stop() without an abort removes the listener from a long-lived signal', async () => {
    const { broker: b, topic } = await seeded(5);
    const controller = new AbortController();
    const seen = new Set<string>();
    const queue = new KafkaQueue(
      {
        brokers: b.bootstrap,
        group: `g-${randomUUID()}`,
        topic,
        offset: 'first',
        maxWaitMs: 50,
        ...fastGroup,
        signal: controller.signal,
        logger: silent,
      },
      (m: KafkaMessage) => void seen.add(String(m.value)),
    );
    const run = queue.start();
    await until(() => seen.size === 5, 30_000, 'the 5 messages');
    await queue.stop();
    await run;
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    controller.abort(); // after stop: nothing happens, nothing throws
  }, 30_000);

  it('a signal that is not an AbortSignal, or a bad stopTimeoutMs, is an InvalidOptionError naming it', () => {
    const base = { brokers: ['127.0.0.1:9092'], group: 'g', topic: 't' };
    expect(() => new KafkaQueue({ ...base, signal: {} as AbortSignal }, () => {})).toThrow(InvalidOptionError);
    expect(() => new KafkaQueue({ ...base, signal: {} as AbortSignal }, () => {})).toThrow(/"signal"/);
    expect(() => new KafkaQueue({ ...base, stopTimeoutMs: -1 }, () => {})).toThrow(/"stopTimeoutMs"/);
  });
});
