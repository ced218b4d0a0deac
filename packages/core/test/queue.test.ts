import {
  type Consumer,
  type Listener,
  type ProduceListener,
  type Producer,
  Queue,
  QueueStateError,
  silentLogger,
} from '@q/core';
import { describe, expect, it } from 'vitest';
import { delay, numberSource, recordingConsumer, until } from './helpers.js';

describe('Queue (ports of go-zero core/queue/queue_test.go)', () => {
  it('TestQueue: every produced message is consumed once, start() returns after stop()', async () => {
    const rounds = 100;
    const source = numberSource(rounds);
    const seen: number[] = [];
    const listener: Listener = { onPause() {}, onResume() {} };
    const q = new Queue(
      () => source.producer,
      () => recordingConsumer(seen),
    );
    q.addListener(listener);
    q.setName('mockqueue');
    q.setNumConsumer(4);
    q.setNumProducer(1);
    const done = q.start();
    await until(() => seen.length === rounds);
    await q.stop();
    await done;
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: rounds }, (_, i) => i));
    expect(q.name).toBe('mockqueue');
    expect(q.state).toBe('stopped');
  });

  it('TestQueue_Broadcast: a broadcast reaches every consumer once', async () => {
    const consumers = 4;
    let events = 0;
    const q = new Queue<number>(
      () => ({
        async produce() {
          await delay(1);
          return 1;
        },
      }),
      () => ({
        consume() {},
        onEvent() {
          events++;
        },
      }),
      { producers: 1, consumers },
    );
    const done = q.start();
    await delay(50);
    const delivered = await q.broadcast('message');
    expect(delivered).toBe(consumers);
    expect(events).toBe(consumers);
    await q.stop();
    await done;
  });

  it('TestQueue_PauseResume: pause when the last producer pauses, resume when one is back', async () => {
    let listener: ProduceListener | undefined;
    const producer: Producer<number> = {
      addListener(l) {
        listener = l;
      },
      async produce(signal) {
        await new Promise((r) => signal.addEventListener('abort', r));
        return undefined;
      },
    };
    const calls: string[] = [];
    const q = new Queue<number>(
      () => producer,
      () => ({ consume() {} }),
      { producers: 1, consumers: 1 },
    );
    q.addListener({ onPause: () => calls.push('onPause'), onResume: () => calls.push('onResume') });
    q.on('pause', () => calls.push('pause'));
    q.on('resume', () => calls.push('resume'));
    const done = q.start();
    await until(() => listener !== undefined);
    listener?.onProducerPause();
    expect(q.stats().paused).toBe(true);
    listener?.onProducerResume();
    expect(q.stats().paused).toBe(false);
    expect(calls).toEqual(['pause', 'onPause', 'resume', 'onResume']);
    await q.stop();
    await done;
  });

  it('consume errors are reported and the queue goes on (go-zero logs and drops them)', async () => {
    const source = numberSource(50);
    const ok: number[] = [];
    const errors: unknown[] = [];
    const q = new Queue(
      () => source.producer,
      () => ({
        consume(m: number) {
          if (m % 2 === 1) throw new Error(`odd ${m}`);
          ok.push(m);
        },
      }),
      { producers: 1, consumers: 3 },
    );
    q.on('error', (e, info) => {
      expect(info.stage).toBe('consume');
      errors.push(e);
    });
    const done = q.start();
    await until(() => ok.length + errors.length === 50);
    await q.stop();
    await done;
    expect(ok).toHaveLength(25);
    expect(errors).toHaveLength(25);
    expect(source.log.ofType('failed')).toHaveLength(25);
    expect(q.stats()).toMatchObject({ consumed: 25, failed: 25, produced: 50 });
  });
});

describe('Queue lifecycle', () => {
  it('start() twice throws QueueStateError synchronously', async () => {
    const q = new Queue(
      () => numberSource(0).producer,
      () => ({ consume() {} }),
      { producers: 1, consumers: 1 },
    );
    const done = q.start();
    expect(() => q.start()).toThrow(QueueStateError);
    expect(() => q.setNumProducer(2)).toThrow(QueueStateError);
    expect(() => q.setNumConsumer(2)).toThrow(QueueStateError);
    expect(() => q.setName('x')).toThrow(QueueStateError);
    await q.stop();
    await done;
  });

  it('stop() before start() resolves, and start() then resolves at once', async () => {
    let made = 0;
    const q = new Queue(
      () => {
        made++;
        return numberSource(10).producer;
      },
      () => ({ consume() {} }),
    );
    await q.stop();
    await q.start();
    expect(made).toBe(0);
    expect(q.state).toBe('stopped');
  });

  it('a second stop() is harmless and returns the same completion', async () => {
    const q = new Queue(
      () => numberSource(10).producer,
      () => ({ consume() {} }),
      { producers: 1, consumers: 1 },
    );
    const done = q.start();
    const a = q.stop();
    const b = q.stop({ timeoutMs: 10 });
    await Promise.all([a, b, done]);
    expect(q.state).toBe('stopped');
  });

  it('Symbol.asyncDispose stops the queue', async () => {
    const q = new Queue(
      () => numberSource(10).producer,
      () => ({ consume() {} }),
      { producers: 1, consumers: 1 },
    );
    const done = q.start();
    await q[Symbol.asyncDispose]();
    await done;
    expect(q.state).toBe('stopped');
  });

  it('an AbortSignal in the options stops the queue', async () => {
    const controller = new AbortController();
    const q = new Queue(
      () => numberSource(10).producer,
      () => ({ consume() {} }),
      { producers: 1, consumers: 1, signal: controller.signal },
    );
    const done = q.start();
    controller.abort();
    await done;
    expect(q.state).toBe('stopped');
  });

  it('producer and consumer close() run once after the loops end', async () => {
    let producerCloses = 0;
    let consumerCloses = 0;
    const source = numberSource(5);
    const q = new Queue(
      () => ({ ...source.producer, close: () => void producerCloses++ }),
      () => ({ consume() {}, close: () => void consumerCloses++ }),
      { producers: 2, consumers: 3 },
    );
    const done = q.start();
    await q.stop();
    await done;
    expect(producerCloses).toBe(2);
    expect(consumerCloses).toBe(3);
  });

  it('factory failures are retried with back-off and reported', async () => {
    let producerCalls = 0;
    let consumerCalls = 0;
    const source = numberSource(20);
    const seen: number[] = [];
    const stages: string[] = [];
    const q = new Queue(
      () => {
        if (++producerCalls <= 3) throw new Error('producer factory down');
        return source.producer;
      },
      async () => {
        if (++consumerCalls <= 2) throw new Error('consumer factory down');
        return recordingConsumer(seen);
      },
      { producers: 1, consumers: 1, factoryBackoff: { minDelayMs: 1, maxDelayMs: 5 } },
    );
    q.on('error', (_e, info) => stages.push(info.stage));
    const done = q.start();
    await until(() => seen.length === 20);
    await q.stop();
    await done;
    expect(stages.filter((s) => s === 'producer-factory')).toHaveLength(3);
    expect(stages.filter((s) => s === 'consumer-factory')).toHaveLength(2);
  });

  it('a factory that always fails stops retrying once stopped, and stop() is prompt', async () => {
    let calls = 0;
    const q = new Queue<number>(
      () => {
        calls++;
        throw new Error('down');
      },
      () => {
        throw new Error('down');
      },
      // A back-off far longer than the bound below, so the bound has slack on a slow CI machine and a stop
      // that waited the back-off out still fails it.
      { producers: 2, consumers: 2, logger: silentLogger, factoryBackoff: { minDelayMs: 10_000, maxDelayMs: 10_000 } },
    );
    const done = q.start();
    await delay(20);
    const t0 = performance.now();
    await q.stop({ timeoutMs: 5000 });
    await done;
    expect(performance.now() - t0).toBeLessThan(3000);
    const after = calls;
    await delay(30);
    expect(calls).toBe(after);
  });

  it('a producer returning nothing synchronously does not starve the event loop', async () => {
    let calls = 0;
    const q = new Queue<number>(
      () => ({
        produce() {
          calls++;
          return undefined;
        },
      }),
      () => ({ consume() {} }),
      { producers: 1, consumers: 1, idleDelayMs: 20 },
    );
    const done = q.start();
    await delay(200);
    await q.stop();
    await done;
    // With back-off capped at 20 ms, 200 ms hold at most a few dozen calls, never a spin.
    expect(calls).toBeGreaterThan(2);
    expect(calls).toBeLessThan(60);
  });

  it('produce() that throws is reported and the loop goes on', async () => {
    let n = 0;
    const seen: number[] = [];
    const q = new Queue<number>(
      () => ({
        produce() {
          n++;
          if (n % 2 === 0) throw new Error('boom');
          return n < 20 ? n : undefined;
        },
      }),
      () => recordingConsumer(seen),
      { producers: 1, consumers: 1, idleDelayMs: 1 },
    );
    const stages: string[] = [];
    q.on('error', (_e, info) => stages.push(info.stage));
    const done = q.start();
    await until(() => seen.length === 10);
    await q.stop();
    await done;
    expect(seen.sort((a, b) => a - b)).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
    expect(stages.every((s) => s === 'produce')).toBe(true);
    expect(stages.length).toBeGreaterThanOrEqual(9);
  });

  it('errors without an error listener go to the logger, without message bodies', async () => {
    const logged: Record<string, unknown>[] = [];
    const logger = {
      ...silentLogger,
      error: (fields: Readonly<Record<string, unknown>>) => void logged.push(fields),
    };
    const q = new Queue<string>(
      () => {
        let sent = false;
        return {
          produce() {
            if (sent) return undefined;
            sent = true;
            return 'secret-body';
          },
        };
      },
      () => ({
        consume() {
          throw new Error('nope');
        },
      }),
      { producers: 1, consumers: 1, logger },
    );
    const done = q.start();
    await until(() => logged.length === 1);
    await q.stop();
    await done;
    expect(JSON.stringify(logged)).not.toContain('secret-body');
    expect(logged[0]).toMatchObject({ stage: 'consume', attempt: 1 });
  });

  it('consumeBatch receives batches from one producer, up to batchSize', async () => {
    const source = numberSource(1000, { batch: 100 });
    const sizes: number[] = [];
    const seen: number[] = [];
    const consumer: Consumer<number> = {
      consume() {
        throw new Error('not used when consumeBatch exists');
      },
      consumeBatch(messages) {
        sizes.push(messages.length);
        seen.push(...messages);
      },
    };
    const q = new Queue(
      () => source.producer,
      () => consumer,
      { producers: 1, consumers: 2, batchSize: 64 },
    );
    const done = q.start();
    await until(() => seen.length === 1000);
    await q.stop();
    await done;
    expect(Math.max(...sizes)).toBeLessThanOrEqual(64);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(source.log.ofType('consumed')).toHaveLength(1000);
  });

  it('settles messages that carry their own ack/nack when the producer has no settle()', async () => {
    const acked: number[] = [];
    const nacked: number[] = [];
    let i = 0;
    const q = new Queue<{ id: number; ack(): void; nack(): void }>(
      () => ({
        produce() {
          if (i >= 10) return undefined;
          const id = i++;
          return { id, ack: () => void acked.push(id), nack: () => void nacked.push(id) };
        },
      }),
      () => ({
        consume(m) {
          if (m.id === 3) throw new Error('bad');
        },
      }),
      { producers: 1, consumers: 1, logger: silentLogger },
    );
    const done = q.start();
    await until(() => acked.length + nacked.length === 10);
    await q.stop();
    await done;
    expect(acked.sort((a, b) => a - b)).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9]);
    expect(nacked).toEqual([3]);
  });
});
