import { type Consumer, type Producer, Queue, silentLogger } from '@q/core';
import { describe, expect, it } from 'vitest';
import { delay, until } from './helpers.js';

// The edges of a Queue's life: many loops on their stop signals, stop() before start(), and the
// end of producers and consumers a factory shares between loops.

/** The warnings the process emitted while `run` ran (they are emitted a tick after the cause). */
async function warningsDuring(run: () => Promise<void>): Promise<string[]> {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  try {
    await run();
    await delay(20);
  } finally {
    process.off('warning', onWarning);
  }
  return warnings.filter((w) => w.startsWith('MaxListenersExceededWarning'));
}

/** A producer that long-polls: it waits up to `pollMs` (or until its signal fires), listening to it meanwhile. */
function pollingProducer(pollMs: number, listenOnce: boolean): Producer<number> {
  let next = 0;
  let listening = false;
  return {
    async produce(signal) {
      if (listenOnce) {
        if (!listening) signal.addEventListener('abort', () => {}, { once: true });
        listening = true;
        await delay(pollMs);
      } else {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            clearTimeout(timer);
            signal.removeEventListener('abort', done);
            resolve();
          };
          const timer = setTimeout(done, pollMs);
          signal.addEventListener('abort', done);
        });
      }
      return signal.aborted ? undefined : next++;
    },
  };
}

/** A consumer whose handler listens to its signal while it works, as a fetch or a client call does. */
const listeningConsumer = (): Consumer<number> => ({
  async consume(_m, { signal }) {
    const onAbort = (): void => {};
    signal.addEventListener('abort', onAbort);
    await delay(10);
    signal.removeEventListener('abort', onAbort);
  },
});

describe('many loops', () => {
  for (const listenOnce of [false, true]) {
    it(`20 producers listening to their produce signal (${listenOnce ? 'once' : 'on every call'}) print no MaxListenersExceededWarning`, async () => {
      const warnings = await warningsDuring(async () => {
        const q = new Queue<number>(
          () => pollingProducer(10, listenOnce),
          () => ({ consume() {} }),
          { producers: 20, consumers: 2, logger: silentLogger, statsIntervalMs: 0 },
        );
        const done = q.start();
        await until(() => q.stats().consumed >= 60, 5000, '60 messages consumed');
        await q.stop();
        await done;
      });
      expect(warnings).toEqual([]);
    });
  }

  // Without a timeout every handler call of a loop gets that loop's stop signal; with one, each
  // attempt has a signal of its own.
  for (const timeoutMs of [0, 1000]) {
    it(`20 consumers whose handlers listen to context.signal (timeoutMs ${timeoutMs}) print no MaxListenersExceededWarning`, async () => {
      let consumed = 0;
      const warnings = await warningsDuring(async () => {
        let next = 0;
        const q = new Queue<number>(
          () => ({ produce: () => (next < 200 ? [next++, next++, next++, next++] : undefined) }),
          listeningConsumer,
          { producers: 1, consumers: 20, timeoutMs, logger: silentLogger, statsIntervalMs: 0, idleDelayMs: 5 },
        );
        const done = q.start();
        await until(() => q.stats().consumed === 200, 5000, '200 messages consumed');
        await q.stop();
        await done;
        consumed = q.stats().consumed;
      });
      expect(consumed).toBe(200);
      expect(warnings).toEqual([]);
    });
  }
});

describe('stop() before start()', () => {
  it('resolves the broadcasts made so far with 0', async () => {
    const q = new Queue<number>(
      () => ({ produce: () => undefined }),
      () => ({ consume() {} }),
      { producers: 1, consumers: 1, logger: silentLogger },
    );
    const early = q.broadcast('config changed');
    await q.stop();
    const result = await Promise.race([early, delay(500).then(() => 'still pending after 500 ms')]);
    expect(result).toBe(0);
    // And after the stop, as before.
    expect(await q.broadcast('later')).toBe(0);
  });
});

describe('a factory that returns one shared instance to every loop', () => {
  it('the consumer is closed once, after its loops ended, even when later factory calls resolve after the stop', async () => {
    const events: string[] = [];
    let closes = 0;
    const shared: Consumer<number> = {
      async consume(m) {
        events.push(`consume ${m} begins`);
        await delay(300);
        events.push(`consume ${m} ends`);
      },
      close() {
        closes++;
        events.push('close');
      },
    };
    let factoryCalls = 0;
    // The first loop gets the instance at once; the others get the same instance 60 ms later.
    const factory = async (): Promise<Consumer<number>> => {
      factoryCalls++;
      if (factoryCalls > 1) await delay(60);
      return shared;
    };
    let given = false;
    const q = new Queue<number>(
      () => ({
        async produce(signal) {
          if (given) {
            await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
            return undefined;
          }
          given = true;
          return 7;
        },
      }),
      factory,
      { producers: 1, consumers: 3, logger: silentLogger, statsIntervalMs: 0 },
    );
    const done = q.start();
    await until(() => events.includes('consume 7 begins'), 2000, 'the message taken');
    // Stopped while message 7 is in the shared consumer's hands and two factory calls are pending:
    // their results come when nothing is left to drain, so those loops give up.
    const stopped = q.stop();
    await stopped;
    await done;
    expect(factoryCalls).toBe(3);
    expect(events).toEqual(['consume 7 begins', 'consume 7 ends', 'close']);
    expect(closes).toBe(1);
    expect(q.stats().consumed).toBe(1);
  });
});
