import { BalancedPusher, DelayExecutor, type Logger, type Pusher } from '@q/core';
import { describe, expect, it } from 'vitest';
import { until } from './helpers.js';

// Logger promises: "A logger that throws is ignored". A log line that fails must not change what
// the code around it does.
const throwing: Logger = {
  error() {
    throw new Error('logger down');
  },
  warn() {
    throw new Error('logger down');
  },
  info() {
    throw new Error('logger down');
  },
  debug() {
    throw new Error('logger down');
  },
};

describe('a logger that throws is ignored', () => {
  it('BalancedPusher still fails over to the next pusher', async () => {
    const taken: string[] = [];
    const failing: Pusher<string> = {
      name: () => 'failing',
      push: () => Promise.reject(new Error('down')),
    };
    const working: Pusher<string> = {
      name: () => 'working',
      push: (m) => void taken.push(m),
    };
    // The first push goes to pushers[1 % 2]: the failing one.
    const pusher = new BalancedPusher([working, failing], { logger: throwing });
    await pusher.push('m');
    expect(taken).toEqual(['m']);
  });

  it('DelayExecutor: a failing run is logged (and the failed log ignored) without an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      let runs = 0;
      const executor = new DelayExecutor(
        async () => {
          runs++;
          throw new Error('run failed');
        },
        1,
        { logger: throwing },
      );
      executor.trigger();
      await until(() => runs === 1, 2000, 'the run');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
