import { type Consumer, type ProduceListener, type Producer, type Pusher, Queue, silentLogger } from '@q/core';
import { describe, expect, it } from 'vitest';
import { delay, numberSource, outcomeWithin, SettleLog } from './helpers.js';

// Listeners of the queue's events run inside its loops: one that throws must be reported on `error`
// (stage `listener`) and must never end a loop, leave a message unsettled, reject start()/stop() or
// escape as an unhandled rejection or exception.

/** What happens to the process while a test runs: unhandled rejections and uncaught exceptions. */
function watchProcess(): { readonly faults: string[]; dispose(): void } {
  const faults: string[] = [];
  const onRejection = (reason: unknown): void => void faults.push(`unhandledRejection: ${String(reason)}`);
  const onException = (error: unknown): void => void faults.push(`uncaughtException: ${String(error)}`);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return {
    faults,
    dispose() {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
    },
  };
}

/** Waits until `predicate()` holds or `ms` passed; the caller asserts on the state either way. */
async function waitFor(predicate: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate() && Date.now() < deadline) await delay(5);
}

const noop: Consumer<number> = { async consume() {} };

describe('a throwing event listener', () => {
  it("'drain': reported with stage listener; the only consumer loop goes on and settles every message once", async () => {
    const n = 50;
    const { producer, log } = numberSource(n, { batch: 5 });
    const q = new Queue<number>(
      () => producer,
      () => noop,
      { producers: 1, consumers: 1, logger: silentLogger, statsIntervalMs: 0 },
    );
    const stages: string[] = [];
    q.on('error', (_error, info) => stages.push(info.stage));
    let drains = 0;
    q.on('drain', () => {
      drains++;
      throw new Error('drain listener broke');
    });
    const watch = watchProcess();
    try {
      const done = q.start();
      await waitFor(() => log.outcomes.size === n, 2000);
      const consumers = q.stats().consumers;
      const stopped = await outcomeWithin(q.stop({ timeoutMs: 1000 }), 3000);
      const started = await outcomeWithin(done, 1000);
      await delay(20); // unhandled rejections are reported a turn later
      expect({
        consumers,
        settled: log.outcomes.size,
        consumed: log.ofType('consumed').length,
        duplicates: log.duplicates(),
        stopped,
        started,
        listenerErrors: stages.filter((s) => s === 'listener').length,
        otherErrors: stages.filter((s) => s !== 'listener'),
        faults: watch.faults,
      }).toEqual({
        consumers: 1,
        settled: n,
        consumed: n,
        duplicates: [],
        stopped: 'resolved',
        started: 'resolved',
        listenerErrors: drains,
        otherErrors: [],
        faults: [],
      });
      expect(drains).toBeGreaterThan(0);
    } finally {
      watch.dispose();
      await outcomeWithin(q.stop({ timeoutMs: 0 }), 1000);
    }
  });

  it("'drain' fires after the settlement: a drain listener sees every consumed message already settled", async () => {
    const n = 30;
    const { producer, log } = numberSource(n);
    const q = new Queue<number>(
      () => producer,
      () => noop,
      { producers: 1, consumers: 1, logger: silentLogger, statsIntervalMs: 0 },
    );
    // At each drain: [messages the queue counts as consumed, messages their producer was told about].
    const atDrain: [number, number][] = [];
    q.on('drain', () => atDrain.push([q.stats().consumed, log.outcomes.size]));
    const done = q.start();
    await waitFor(() => q.stats().consumed === n && atDrain.length > 0, 2000);
    await q.stop();
    await done;
    expect(atDrain.length).toBeGreaterThan(0);
    expect(atDrain.filter(([consumed, settled]) => consumed !== settled)).toEqual([]);
    expect(atDrain.at(-1)).toEqual([n, n]);
  });

  it("'dead-letter': reported with stage listener; every message is dead-lettered once and the loop goes on", async () => {
    const n = 20;
    const { producer, log } = numberSource(n, { batch: 4 });
    const pushed: number[] = [];
    const deadLetter: Pusher<number> = {
      name: () => 'dead-letters',
      async pushAndConfirm(m) {
        pushed.push(m);
      },
      push(m) {
        pushed.push(m);
      },
    };
    const q = new Queue<number>(
      () => producer,
      () => ({
        consume(m) {
          if (m % 2 === 0) throw new Error(`handler failed on ${m}`);
        },
      }),
      { producers: 1, consumers: 1, retry: { attempts: 1 }, deadLetter, logger: silentLogger, statsIntervalMs: 0 },
    );
    const stages: string[] = [];
    q.on('error', (_error, info) => stages.push(info.stage));
    q.on('dead-letter', () => {
      throw new Error('dead-letter listener broke');
    });
    const watch = watchProcess();
    try {
      const done = q.start();
      await waitFor(() => log.outcomes.size === n, 2000);
      const consumers = q.stats().consumers;
      const stopped = await outcomeWithin(q.stop({ timeoutMs: 1000 }), 3000);
      const started = await outcomeWithin(done, 1000);
      await delay(20);
      const even = Array.from({ length: n / 2 }, (_, i) => 2 * i);
      expect({
        consumers,
        settled: log.outcomes.size,
        deadLettered: log.ofType('dead-lettered').sort((a, b) => a - b),
        pushed: [...pushed].sort((a, b) => a - b),
        consumed: log.ofType('consumed').length,
        duplicates: log.duplicates(),
        stopped,
        started,
        listenerErrors: stages.filter((s) => s === 'listener').length,
        faults: watch.faults,
      }).toEqual({
        consumers: 1,
        settled: n,
        deadLettered: even,
        pushed: even,
        consumed: n / 2,
        duplicates: [],
        stopped: 'resolved',
        started: 'resolved',
        listenerErrors: n / 2,
        faults: [],
      });
    } finally {
      watch.dispose();
      await outcomeWithin(q.stop({ timeoutMs: 0 }), 1000);
    }
  });

  it("'pause' and 'resume': reported with stage listener, not thrown at the producer; go-zero listeners still told", async () => {
    const n = 20;
    const log = new SettleLog<number>();
    let listener: ProduceListener | undefined;
    /** What the producer's calls to its listener threw (a producer calls them from its own code). */
    const thrownAtProducer: string[] = [];
    let next = 0;
    let call = 0;
    // Down on its second call (pause), back on its third (resume), then the rest.
    const producer: Producer<number> = {
      addListener(l) {
        listener = l;
      },
      async produce() {
        call++;
        if (call === 2) {
          try {
            listener?.onProducerPause();
          } catch (error) {
            thrownAtProducer.push(`pause: ${String(error)}`);
          }
          return undefined;
        }
        if (call === 3) {
          try {
            listener?.onProducerResume();
          } catch (error) {
            thrownAtProducer.push(`resume: ${String(error)}`);
          }
        }
        if (next >= n) {
          await delay(5);
          return undefined;
        }
        const batch: number[] = [];
        while (batch.length < 5 && next < n) batch.push(next++);
        return batch;
      },
      settle: (m, outcome) => log.record(m, outcome),
    };
    const q = new Queue<number>(
      () => producer,
      () => noop,
      { producers: 1, consumers: 1, logger: silentLogger, statsIntervalMs: 0, idleDelayMs: 1 },
    );
    const stages: string[] = [];
    q.on('error', (_error, info) => stages.push(info.stage));
    q.on('pause', () => {
      throw new Error('pause listener broke');
    });
    q.on('resume', () => {
      throw new Error('resume listener broke');
    });
    const told: string[] = [];
    q.addListener({ onPause: () => told.push('pause'), onResume: () => told.push('resume') });
    const watch = watchProcess();
    try {
      const done = q.start();
      await waitFor(() => log.outcomes.size === n, 2000);
      const stopped = await outcomeWithin(q.stop({ timeoutMs: 1000 }), 3000);
      const started = await outcomeWithin(done, 1000);
      await delay(20);
      expect({
        thrownAtProducer,
        told,
        stages,
        consumed: log.ofType('consumed').length,
        duplicates: log.duplicates(),
        stopped,
        started,
        faults: watch.faults,
      }).toEqual({
        thrownAtProducer: [],
        told: ['pause', 'resume'],
        stages: ['listener', 'listener'],
        consumed: n,
        duplicates: [],
        stopped: 'resolved',
        started: 'resolved',
        faults: [],
      });
    } finally {
      watch.dispose();
      await outcomeWithin(q.stop({ timeoutMs: 0 }), 1000);
    }
  });

  it("'stats': reported with stage listener; nothing escapes from the stats timer", async () => {
    const n = 20;
    const { producer, log } = numberSource(n);
    const q = new Queue<number>(
      () => producer,
      () => noop,
      { producers: 1, consumers: 1, logger: silentLogger, statsIntervalMs: 10 },
    );
    const stages: string[] = [];
    q.on('error', (_error, info) => stages.push(info.stage));
    let reports = 0;
    q.on('stats', () => {
      reports++;
      throw new Error('stats listener broke');
    });
    const watch = watchProcess();
    try {
      const done = q.start();
      await waitFor(() => reports >= 3 && log.outcomes.size === n, 2000);
      const consumers = q.stats().consumers;
      const stopped = await outcomeWithin(q.stop({ timeoutMs: 1000 }), 3000);
      const started = await outcomeWithin(done, 1000);
      await delay(20);
      expect(reports).toBeGreaterThanOrEqual(3);
      expect({
        consumers,
        consumed: log.ofType('consumed').length,
        stopped,
        started,
        listenerErrors: stages.filter((s) => s === 'listener').length,
        faults: watch.faults,
      }).toEqual({
        consumers: 1,
        consumed: n,
        stopped: 'resolved',
        started: 'resolved',
        listenerErrors: reports,
        faults: [],
      });
    } finally {
      watch.dispose();
      await outcomeWithin(q.stop({ timeoutMs: 0 }), 1000);
    }
  });
});
