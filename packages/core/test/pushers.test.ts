import {
  BalancedPusher,
  ChunkExecutor,
  ConfirmAbortedError,
  MultiPushError,
  MultiPusher,
  NoAvailablePusherError,
  type Pusher,
  QueueError,
  silentLogger,
} from '@q/core';
import { generateName } from '@q/core/internal';
import { describe, expect, it } from 'vitest';

/** go-zero's mockedPusher: fails with a 1 % probability, counts its successes. */
class MockedPusher implements Pusher<string> {
  count = 0;
  constructor(
    private readonly id: string,
    private readonly failProbability = 0.01,
  ) {}
  name(): string {
    return this.id;
  }
  push(_message: string): void {
    if (Math.random() < this.failProbability) throw new Error('dummy');
    this.count++;
  }
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const variance = (xs: number[]): number => {
  const m = mean(xs);
  return xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length;
};

describe('BalancedPusher (port of balancedpusher_test.go)', () => {
  it('TestBalancedQueuePusher: every push succeeds, load is even (variance < 100)', async () => {
    const pushers = Array.from({ length: 100 }, (_, i) => new MockedPusher(`pusher:${i}`));
    const balanced = new BalancedPusher(pushers, { logger: silentLogger });
    expect(balanced.name()).toBe(generateName(pushers));
    for (let i = 0; i < 100 * 1000; i++) await balanced.push('item');
    const counts = pushers.map((p) => p.count);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(100 * 1000);
    expect(variance(counts)).toBeLessThan(100);
  });

  it('TestBalancedQueuePusher_NoAvailable: no pushers -> empty name and ErrNoAvailablePusher', async () => {
    const balanced = new BalancedPusher<string>([]);
    expect(balanced.name()).toBe('');
    await expect(balanced.push('item')).rejects.toBeInstanceOf(NoAvailablePusherError);
    await expect(balanced.push('item')).rejects.toThrow('no available pusher');
  });

  it('the first push goes to pushers[1 % n], then round-robin; failover tries each at most once', async () => {
    const order: string[] = [];
    const make = (id: string, fail = false): Pusher<string> => ({
      name: () => id,
      push: () => {
        order.push(id);
        if (fail) throw new Error(id);
      },
    });
    const balanced = new BalancedPusher([make('a'), make('b'), make('c', true)], { logger: silentLogger });
    await balanced.push('1');
    await balanced.push('2');
    await balanced.push('3');
    // The counter is shared and advanced by failover too (go-zero): push 3 starts after 'a'.
    expect(order).toEqual(['b', 'c', 'a', 'b']);
    const allFail = new BalancedPusher([make('x', true), make('y', true)], { logger: silentLogger });
    const error = await allFail.push('m').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoAvailablePusherError);
    expect(((error as Error).cause as AggregateError).errors).toHaveLength(2);
  });
});

/**
 * Confirming pushers on ChunkExecutors whose writes hang until released, recording which were asked to
 * confirm: what a caller's abort is tested against.
 */
function hangingConfirmers() {
  const tried: string[] = [];
  const releases: (() => void)[] = [];
  const make = (id: string): Pusher<string> => {
    const writer = new ChunkExecutor<string>(() => new Promise<void>((resolve) => releases.push(resolve)), {
      flushIntervalMs: 1,
    });
    return {
      name: () => id,
      push: (m) => writer.add(m, 1),
      pushAndConfirm: (m, info) => {
        tried.push(id);
        return writer.addAndConfirm(m, 1, { signal: info?.signal });
      },
    };
  };
  return { tried, releases, make };
}

describe('BalancedPusher and a caller that gives up', () => {
  it('an aborted confirm rejects with ConfirmAbortedError and is not failed over to the next pusher', async () => {
    // The abort is the caller's choice, not a failure of the pusher: trying the next one would only
    // send the message twice.
    const { tried, releases, make } = hangingConfirmers();
    const logged: unknown[] = [];
    const log = (fields: Record<string, unknown>) => logged.push(fields);
    const balanced = new BalancedPusher([make('a'), make('b')], {
      logger: { error: log, warn: log, info: log, debug: log },
    });
    const caller = new AbortController();
    const pushed = balanced.pushAndConfirm?.('m', { signal: caller.signal }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 20));
    caller.abort(new Error('gave up'));
    const error = await pushed;
    expect(error).toBeInstanceOf(ConfirmAbortedError);
    expect(tried).toEqual(['b']);
    expect(logged).toEqual([]);
    for (const release of releases) release();
  });
});

describe('MultiPusher and a caller that gives up', () => {
  it('an aborted confirm rejects with ConfirmAbortedError and pushes to no further pusher', async () => {
    const { tried, releases, make } = hangingConfirmers();
    const multi = new MultiPusher([make('a'), make('b'), make('c')]);
    const caller = new AbortController();
    const pushed = multi.pushAndConfirm?.('m', { signal: caller.signal }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 20));
    caller.abort(new Error('gave up'));
    expect(await pushed).toBeInstanceOf(ConfirmAbortedError);
    expect(tried).toEqual(['a']);
    for (const release of releases) release();
  });
});

describe('MultiPusher (port of multipusher_test.go)', () => {
  it('TestMultiQueuePusher: every pusher gets every push that does not fail (mean ~ 990, variance < 100)', async () => {
    const pushers = Array.from({ length: 100 }, (_, i) => new MockedPusher(`pusher:${i}`));
    const multi = new MultiPusher(pushers);
    for (let i = 0; i < 1000; i++) await multi.push('item').catch(() => {});
    const counts = pushers.map((p) => p.count);
    expect(Math.abs(mean(counts) - 1000 * 0.99)).toBeLessThan(10);
    expect(variance(counts)).toBeLessThan(100);
  });

  it('goes on after a failure and rejects with every cause', async () => {
    const got: string[] = [];
    const multi = new MultiPusher<string>([
      { name: () => 'a', push: () => void got.push('a') },
      {
        name: () => 'b',
        push: () => {
          throw new Error('b down');
        },
      },
      { name: () => 'c', push: async () => void got.push('c') },
    ]);
    expect(multi.name()).toBe('a,b,c');
    const error = await multi.push('m').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MultiPushError);
    expect(error).toBeInstanceOf(QueueError);
    expect((error as MultiPushError).code).toBe('Q_MULTI_PUSH');
    expect((error as MultiPushError).errors.map((e) => (e as Error).message)).toEqual(['b down']);
    expect(got).toEqual(['a', 'c']);
  });
});

describe('generateName (port of util_test.go)', () => {
  it('joins names with ","', () => {
    const p = (id: string): Pusher<string> => ({ name: () => id, push() {} });
    expect(generateName([])).toBe('');
    expect(generateName([p('a')])).toBe('a');
    expect(generateName([p('a'), p('b'), p('c')])).toBe('a,b,c');
  });
});
