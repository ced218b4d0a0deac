import { randomUUID } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { KafkaQueue } from '@q/kafka';
import { type KafkaTestBroker, startKafkaBroker } from '@q/kafka-testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { fastGroup, JOIN_GROUP, silent } from './support/test-constants.js';

// The stop's final steps get at least 1 s (see KafkaQueue.stop), plus slack for a loaded machine.
const SLACK_MS = 1500 + 1000;

let broker: KafkaTestBroker | undefined;
afterEach(async () => {
  await broker?.stop();
  broker = undefined;
});

/** A queue whose JoinGroup the broker never answers, started, with a JoinGroup seen. */
async function joining(signal?: AbortSignal): Promise<{ queue: KafkaQueue; run: Promise<void> }> {
  broker = await startKafkaBroker();
  const topic = `joining-${randomUUID()}`;
  broker.cluster.createTopic(topic, 1);
  let joins = 0;
  broker.onRequest((r) => {
    if (r.apiKey === JOIN_GROUP) joins++;
    return undefined;
  });
  broker.blackHole({ apiKey: JOIN_GROUP });
  const queue = new KafkaQueue(
    {
      brokers: broker.bootstrap,
      group: `g-${randomUUID()}`,
      topic,
      stopTimeoutMs: 500,
      signal,
      ...fastGroup,
      logger: silent,
    },
    () => {},
  );
  const run = queue.start();
  await until(() => joins > 0, 30_000, 'a JoinGroup');
  return { queue, run };
}

/** Whether `promise` settled within `ms`. */
async function settles(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const settled = promise.then(
    () => true,
    () => true,
  );
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('KafkaQueue stopped while its member is still joining', () => {
  it('an abort of the signal: start() settles within the stop deadline and the member queue is stopped', async () => {
    const controller = new AbortController();
    const { queue, run } = await joining(controller.signal);
    controller.abort();
    expect(await settles(run, 500 + SLACK_MS)).toBe(true);
    expect(queue.stats().map((s) => s.state)).toEqual(['stopped']);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  }, 60_000);

  it('stop(): start() settles within the stop deadline and the member queue is stopped', async () => {
    const { queue, run } = await joining();
    await queue.stop({ timeoutMs: 500 });
    expect(await settles(run, SLACK_MS)).toBe(true);
    expect(queue.stats().map((s) => s.state)).toEqual(['stopped']);
  }, 60_000);
});
