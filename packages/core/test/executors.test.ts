import {
  BulkExecutor,
  ChunkExecutor,
  DelayExecutor,
  InvalidOptionError,
  LessExecutor,
  ManualClock,
  PeriodicalExecutor,
  ShutdownManager,
} from '@q/core';
import { describe, expect, it } from 'vitest';
import { delay } from './helpers.js';

describe('ChunkExecutor (ports of chunkexecutor_test.go)', () => {
  it('TestChunkExecutor: 10-byte chunks of 1-byte tasks hold exactly 10 tasks', async () => {
    const batches: number[][] = [];
    const ex = new ChunkExecutor<number>((tasks) => void batches.push(tasks), { chunkBytes: 10 });
    for (let i = 0; i < 50; i++) await ex.add(1, 1);
    await ex.wait();
    expect(batches).toHaveLength(5);
    for (const b of batches) expect(b).toHaveLength(10);
    await ex.close();
  });

  it('chunkTasks: a chunk also executes once it holds that many tasks, whatever their bytes', async () => {
    const batches: number[][] = [];
    const ex = new ChunkExecutor<number>((tasks) => void batches.push(tasks), { chunkBytes: 1000, chunkTasks: 4 });
    for (let i = 0; i < 10; i++) await ex.add(i, 1);
    await ex.close();
    expect(batches).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    expect(() => new ChunkExecutor(() => {}, { chunkTasks: 0 })).toThrow(/chunkTasks/);
  });

  it('TestChunkExecutor_FlushInterval: a partial chunk goes out on the interval', async () => {
    const clock = new ManualClock();
    const batches: number[][] = [];
    const ex = new ChunkExecutor<number>((tasks) => void batches.push(tasks), {
      chunkBytes: 1000,
      flushIntervalMs: 100,
      clock,
    });
    for (let i = 0; i < 5; i++) ex.add(i, 1);
    await clock.advance(100);
    expect(batches).toEqual([[0, 1, 2, 3, 4]]);
  });

  it('TestChunkExecutor_Empty: execute is never called for nothing; wait() on empty returns', async () => {
    let calls = 0;
    const ex = new ChunkExecutor<number>(() => void calls++, { chunkBytes: 10, flushIntervalMs: 1 });
    await ex.wait();
    await delay(20);
    expect(calls).toBe(0);
    await ex.close();
  });

  it('TestChunkExecutor_Flush: an explicit flush sends one chunk', async () => {
    const batches: number[][] = [];
    const ex = new ChunkExecutor<number>((tasks) => void batches.push(tasks), { chunkBytes: 1000 });
    for (let i = 0; i < 5; i++) ex.add(i, 1);
    expect(await ex.flush()).toBe(true);
    expect(batches).toEqual([[0, 1, 2, 3, 4]]);
    await ex.close();
  });

  it('an oversize task goes out at once, with what was buffered', async () => {
    const batches: string[][] = [];
    const ex = new ChunkExecutor<string>((tasks) => void batches.push(tasks), { chunkBytes: 100 });
    ex.add('a', 10);
    await ex.add('big', 500);
    expect(batches).toEqual([['a', 'big']]);
    await ex.close();
  });
});

describe('BulkExecutor (ports of bulkexecutor_test.go)', () => {
  it('TestBulkExecutor: batches of exactly bulkTasks', async () => {
    const batches: number[][] = [];
    const ex = new BulkExecutor<number>((tasks) => void batches.push(tasks), { bulkTasks: 10 });
    for (let i = 0; i < 50; i++) await ex.add(i);
    await ex.wait();
    expect(batches.map((b) => b.length)).toEqual([10, 10, 10, 10, 10]);
    expect(batches.flat()).toEqual(Array.from({ length: 50 }, (_, i) => i));
    await ex.close();
  });

  it('TestBulkExecutorFlushInterval', async () => {
    const clock = new ManualClock();
    const batches: number[][] = [];
    const ex = new BulkExecutor<number>((tasks) => void batches.push(tasks), {
      bulkTasks: 1000,
      flushIntervalMs: 100,
      clock,
    });
    for (let i = 0; i < 5; i++) ex.add(i);
    await clock.advance(100);
    expect(batches).toEqual([[0, 1, 2, 3, 4]]);
  });

  it('TestBulkExecutorEmpty and TestBulkExecutorFlush', async () => {
    const batches: number[][] = [];
    const ex = new BulkExecutor<number>((tasks) => void batches.push(tasks), { bulkTasks: 1000 });
    expect(await ex.flush()).toBe(false);
    for (let i = 0; i < 5; i++) ex.add(i);
    expect(await ex.flush()).toBe(true);
    expect(batches).toEqual([[0, 1, 2, 3, 4]]);
    await ex.close();
  });

  it('TestBulkExecutorFlushSlowTasks: 1,500 tasks, a slow execute, flush then wait has them all', async () => {
    const done: number[] = [];
    const ex = new BulkExecutor<number>(
      async (tasks) => {
        await delay(100);
        done.push(...tasks);
      },
      { bulkTasks: 1000 },
    );
    for (let i = 0; i < 1500; i++) ex.add(i);
    await ex.flush();
    await ex.wait();
    expect(done).toHaveLength(1500);
    await ex.close();
  });

  it('TestPeriodicalExecutor_Wait: one task per batch, 10 adds, flush and wait', async () => {
    let count = 0;
    const ex = new BulkExecutor<number>(
      (tasks) => {
        count += tasks.length;
      },
      { bulkTasks: 1, flushIntervalMs: 10 },
    );
    for (let i = 0; i < 10; i++) ex.add(i);
    await ex.flush();
    await ex.wait();
    expect(count).toBe(10);
    await ex.close();
  });
});

describe('DelayExecutor and LessExecutor (ports)', () => {
  it('TestDelayExecutor: 100 triggers within the delay run fn once', async () => {
    const clock = new ManualClock();
    let count = 0;
    const ex = new DelayExecutor(() => void count++, 10, { clock });
    for (let i = 0; i < 100; i++) ex.trigger();
    await clock.advance(100);
    expect(count).toBe(1);
    ex.trigger();
    expect(ex.pending).toBe(true);
    await clock.advance(10);
    expect(count).toBe(2);
  });

  it('DelayExecutor: the delay counts from the first trigger; fn errors are reported', async () => {
    const clock = new ManualClock();
    const errors: unknown[] = [];
    let runs = 0;
    const ex = new DelayExecutor(
      () => {
        runs++;
        throw new Error('fn broke');
      },
      50,
      { clock, onError: (e) => errors.push(e) },
    );
    ex.trigger();
    await clock.advance(40);
    ex.trigger();
    await clock.advance(10);
    expect(runs).toBe(1);
    expect(errors).toHaveLength(1);
    ex.trigger();
    ex.cancel();
    await clock.advance(100);
    expect(runs).toBe(1);
  });

  it('TestLessExecutor_DoOrDiscard: at most once per threshold', () => {
    const clock = new ManualClock(1_000_000);
    const ex = new LessExecutor(60_000, { clock });
    expect(ex.doOrDiscard(() => {})).toBe(true);
    expect(ex.doOrDiscard(() => {})).toBe(false);
    ex.lastRun = clock.now() - 90_000;
    expect(ex.doOrDiscard(() => {})).toBe(true);
    expect(ex.doOrDiscard(() => {})).toBe(false);
  });
});

describe('ShutdownManager', () => {
  it('executors register a flush and remove it on close(); run() flushes buffered tasks', async () => {
    const shutdown = new ShutdownManager();
    const written: number[] = [];
    const ex = new BulkExecutor<number>((t) => void written.push(...t), { bulkTasks: 1000, shutdown });
    const other = new ChunkExecutor<number>(() => {}, { shutdown });
    expect(shutdown.size).toBe(2);
    for (let i = 0; i < 10; i++) ex.add(i);
    await shutdown.run();
    expect(written).toEqual(Array.from({ length: 10 }, (_, i) => i));
    await ex.close();
    await other.close();
    expect(shutdown.size).toBe(0);
  });

  it('a failing listener does not keep the others from running; removers work', async () => {
    const shutdown = new ShutdownManager({ logger: { error() {}, warn() {}, info() {}, debug() {} } });
    const calls: string[] = [];
    shutdown.onWrapUp(() => void calls.push('wrap-up'));
    shutdown.onShutdown(() => {
      throw new Error('x');
    });
    shutdown.onShutdown(async () => void calls.push('b'));
    const remove = shutdown.onShutdown(() => void calls.push('removed'));
    remove();
    await shutdown.run();
    expect(calls).toEqual(['wrap-up', 'b']);
  });

  it('install() validates and uninstall() removes its signal handlers', () => {
    const shutdown = new ShutdownManager();
    const before = process.listenerCount('SIGTERM');
    expect(() => shutdown.install({ wrapUpMs: 100, waitMs: 50 })).toThrow(InvalidOptionError);
    const uninstall = shutdown.install({ signals: ['SIGTERM'] });
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    uninstall();
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });
});

describe('executors: bad input gets a typed error at the call', () => {
  const execute = (): void => {};
  it.each([
    ['intervalMs', () => new PeriodicalExecutor(0, { addTask: () => false, execute, removeAll: () => [] })],
    ['intervalMs', () => new PeriodicalExecutor(Number.NaN, { addTask: () => false, execute, removeAll: () => [] })],
    ['container', () => new PeriodicalExecutor(10, {} as never)],
    ['concurrency', () => new BulkExecutor(execute, { concurrency: 0 })],
    ['flushIntervalMs', () => new ChunkExecutor(execute, { flushIntervalMs: 0 })],
    ['flushIntervalMs', () => new BulkExecutor(execute, { flushIntervalMs: Number.POSITIVE_INFINITY })],
    ['chunkBytes', () => new ChunkExecutor(execute, { chunkBytes: 0 })],
    ['bulkTasks', () => new BulkExecutor(execute, { bulkTasks: 0.5 })],
    ['execute', () => new BulkExecutor(undefined as never)],
    ['onError', () => new BulkExecutor(execute, { onError: 'log' as never })],
    ['delayMs', () => new DelayExecutor(() => {}, -1)],
    ['fn', () => new DelayExecutor(undefined as never, 10)],
    ['thresholdMs', () => new LessExecutor(0)],
    ['bytes', () => new ChunkExecutor(execute).add('x', -1)],
    ['bytes', () => new ChunkExecutor(execute).add('x', Number.NaN)],
    ['bytes', () => new ChunkExecutor(execute).addAndConfirm('x', Number.POSITIVE_INFINITY)],
  ] as [string, () => unknown][])('%s', (option, make) => {
    let error: unknown;
    try {
      make();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option).toBe(option);
  });
});

describe('Symbol.asyncDispose on executors', () => {
  it('disposing a ChunkExecutor flushes what is buffered, like close()', async () => {
    const flushed: number[][] = [];
    const executor = new ChunkExecutor<number>((tasks) => void flushed.push([...tasks]), { flushIntervalMs: 60_000 });
    await executor.add(1, 1);
    await executor.add(2, 1);
    expect(flushed).toEqual([]);
    await executor[Symbol.asyncDispose]();
    expect(flushed).toEqual([[1, 2]]);
  });
});
