import { type ProduceListener, type Producer, Queue, silentLogger } from '@q/core';
import { describe, expect, it } from 'vitest';
import { delay, numberSource, until } from './helpers.js';

function idleProducer(onListener: (l: ProduceListener) => void): Producer<number> {
  return {
    addListener: onListener,
    async produce(signal) {
      await new Promise((r) => signal.addEventListener('abort', r));
      return undefined;
    },
  };
}

describe('pause and resume', () => {
  it('fire only on the aggregate edges: last producer paused, first one back', async () => {
    const listeners: ProduceListener[] = [];
    const events: string[] = [];
    const q = new Queue<number>(
      () => idleProducer((l) => listeners.push(l)),
      () => ({ consume() {} }),
      { producers: 3, consumers: 1 },
    );
    q.on('pause', () => events.push('pause'));
    q.on('resume', () => events.push('resume'));
    const done = q.start();
    await until(() => listeners.length === 3);
    const [a, b, c] = listeners as [ProduceListener, ProduceListener, ProduceListener];
    a.onProducerPause();
    b.onProducerPause();
    expect(events).toEqual([]);
    c.onProducerPause();
    expect(events).toEqual(['pause']);
    c.onProducerPause(); // repeated: no second edge, and the count is not driven below zero
    a.onProducerPause();
    expect(events).toEqual(['pause']);
    b.onProducerResume();
    expect(events).toEqual(['pause', 'resume']);
    a.onProducerResume();
    b.onProducerResume();
    expect(events).toEqual(['pause', 'resume']);
    a.onProducerPause();
    b.onProducerPause();
    expect(events).toEqual(['pause', 'resume', 'pause']);
    b.onProducerResume();
    expect(events).toEqual(['pause', 'resume', 'pause', 'resume']);
    await q.stop();
    await done;
    // Producer loops ending at stop are not a pause.
    expect(events).toHaveLength(4);
  });

  it('a throwing onPause listener is reported and the others still run', async () => {
    const listeners: ProduceListener[] = [];
    const calls: string[] = [];
    const stages: string[] = [];
    const q = new Queue<number>(
      () => idleProducer((l) => listeners.push(l)),
      () => ({ consume() {} }),
      { producers: 1, consumers: 1 },
    );
    q.addListener({
      onPause() {
        throw new Error('listener broke');
      },
      onResume() {},
    });
    q.addListener({ onPause: () => calls.push('pause'), onResume: () => calls.push('resume') });
    q.on('error', (_e, info) => stages.push(info.stage));
    const done = q.start();
    await until(() => listeners.length === 1);
    listeners[0]?.onProducerPause();
    listeners[0]?.onProducerResume();
    await q.stop();
    await done;
    expect(calls).toEqual(['pause', 'resume']);
    expect(stages).toEqual(['listener']);
  });
});

describe('broadcast', () => {
  it('every live consumer gets each event exactly once, all in the same order', async () => {
    const consumers = 5;
    const seen = new Map<number, unknown[]>();
    let made = 0;
    const q = new Queue<number>(
      () => numberSource(2000).producer,
      () => {
        const id = made++;
        seen.set(id, []);
        return {
          async consume() {
            await delay(Math.random() < 0.05 ? 1 : 0);
          },
          async onEvent(e: unknown) {
            if (Math.random() < 0.3) await delay(1);
            seen.get(id)?.push(e);
          },
        };
      },
      { producers: 1, consumers },
    );
    const done = q.start();
    await until(() => made === consumers);
    const counts = await Promise.all(Array.from({ length: 20 }, (_, i) => q.broadcast(i)));
    expect(counts).toEqual(Array(20).fill(consumers));
    for (const events of seen.values()) expect(events).toEqual(Array.from({ length: 20 }, (_, i) => i));
    await q.stop();
    await done;
  });

  it('before start: reaches every consumer once it is up; after stop: resolves 0 at once', async () => {
    let events = 0;
    const q = new Queue<number>(
      () => numberSource(0).producer,
      () => ({ consume() {}, onEvent: () => void events++ }),
      { producers: 1, consumers: 3 },
    );
    const early = q.broadcast('early');
    const done = q.start();
    expect(await early).toBe(3);
    await q.stop();
    await done;
    expect(events).toBe(3);
    expect(await q.broadcast('late')).toBe(0);
    expect(events).toBe(3);
  });

  it('a throwing or hanging onEvent does not stop the queue or the other consumers', async () => {
    let made = 0;
    const got: number[] = [];
    const stages: string[] = [];
    const source = numberSource(100);
    const consumed: number[] = [];
    const q = new Queue<number>(
      () => source.producer,
      () => {
        const id = made++;
        return {
          consume: (m: number) => void consumed.push(m),
          onEvent() {
            if (id === 0) throw new Error('event handler broke');
            if (id === 1) return new Promise<void>(() => {});
            got.push(id);
          },
        };
      },
      { producers: 1, consumers: 3, timeoutMs: 50, logger: silentLogger },
    );
    q.on('error', (_e, info) => stages.push(info.stage));
    const done = q.start();
    await until(() => made === 3);
    const delivered = await q.broadcast('x');
    expect(delivered).toBe(3);
    expect(got).toEqual([2]);
    expect(stages.sort()).toEqual(['event', 'event']);
    await until(() => consumed.length === 100);
    await q.stop();
    await done;
  });
});

describe('drain and stats', () => {
  it('emits drain when nothing is buffered or in flight, and stats on its interval', async () => {
    const source = numberSource(30);
    let drains = 0;
    const reports: number[] = [];
    const q = new Queue(
      () => source.producer,
      () => ({ consume: async () => delay(1) }),
      { producers: 1, consumers: 2, statsIntervalMs: 20 },
    );
    q.on('drain', () => drains++);
    q.on('stats', (r) => reports.push(r.consumed));
    const done = q.start();
    // A report is taken on its interval, so the one that shows all 30 can come a tick after the last consume.
    await until(() => reports.length >= 2 && reports.at(-1) === 30);
    await q.stop();
    await done;
    expect(drains).toBeGreaterThan(0);
    expect(reports.at(-1)).toBe(30);
    const stats = q.stats();
    expect(stats.latency.count).toBeGreaterThan(0);
    expect(stats.latency.p50).toBeGreaterThan(0.5);
    expect(stats.latency.p99).toBeGreaterThanOrEqual(stats.latency.p50);
    expect(stats).toMatchObject({ produced: 30, consumed: 30, inFlight: 0, buffered: 0, failed: 0 });
  });
});
