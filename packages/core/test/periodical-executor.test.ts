import { ExecutorClosedError, hasTasks, ManualClock, PeriodicalExecutor, type TaskContainer } from '@q/core';
import { describe, expect, it } from 'vitest';
import { delay } from './helpers.js';

/** go-zero's test container: flushes when it holds more than `threshold` tasks. */
class Container implements TaskContainer<number, number[]> {
  tasks: number[] = [];
  readonly executed: number[][] = [];
  constructor(
    readonly threshold = 10,
    readonly onExecute: (batch: number[]) => void | Promise<void> = () => {},
  ) {}
  addTask(task: number): boolean {
    this.tasks.push(task);
    return this.tasks.length > this.threshold;
  }
  async execute(batch: number[]): Promise<void> {
    this.executed.push(batch);
    await this.onExecute(batch);
  }
  removeAll(): number[] {
    const t = this.tasks;
    this.tasks = [];
    return t;
  }
}

describe('PeriodicalExecutor (ports of periodicalexecutor_test.go)', () => {
  it('TestPeriodicalExecutor_Sync', () => {
    const ex = new PeriodicalExecutor(1000, new Container());
    let done = false;
    expect(
      ex.sync(() => {
        done = true;
        return 42;
      }),
    ).toBe(42);
    expect(done).toBe(true);
  });

  it('TestPeriodicalExecutor_QuitGoroutine: the ticker stops after 10 idle intervals', async () => {
    const clock = new ManualClock();
    const ex = new PeriodicalExecutor(1, new Container(), { clock });
    ex.add(1);
    expect(ex.running).toBe(true);
    await clock.advance(1 * 10 * 2 + 5);
    expect(ex.running).toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });

  it('TestPeriodicalExecutor_Bulk: every task executed, in order', async () => {
    const container = new Container();
    const ex = new PeriodicalExecutor(10, container);
    for (let i = 0; i < 100; i++) {
      await ex.add(i);
      if (i % 10 === 0) await delay(1);
    }
    await ex.wait();
    expect(container.executed.flat()).toEqual(Array.from({ length: 100 }, (_, i) => i));
    await ex.close();
  });

  it('TestPeriodicalExecutor_Panic: a throwing execute drops nothing else, the loop lives on', async () => {
    const errors: unknown[] = [];
    const container = new Container(10, (batch) => {
      if (batch[0] === 0) throw new Error('test');
    });
    const ex = new PeriodicalExecutor(10, container, { onError: (e) => errors.push(e) });
    for (let i = 0; i < 30; i++) await ex.add(i);
    await ex.wait();
    expect(container.executed.flat()).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(errors).toHaveLength(1);
    await ex.close();
  });

  it('TestPeriodicalExecutor_FlushPanic: the same through an explicit flush', async () => {
    const errors: unknown[] = [];
    const container = new Container(10, (batch) => {
      if (batch[0] === 0) throw new Error('test');
    });
    const ex = new PeriodicalExecutor(10, container, { onError: (e) => errors.push(e) });
    for (let i = 0; i < 8; i++) ex.add(i);
    expect(await ex.flush()).toBe(true);
    for (let i = 8; i < 30; i++) await ex.add(i);
    await ex.wait();
    expect(container.executed.flat()).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(errors).toHaveLength(1);
    await ex.close();
  });

  it('TestPeriodicalExecutor_WaitFast: wait() waits for executions in flight', async () => {
    let count = 0;
    const ex = new PeriodicalExecutor(
      10,
      new Container(1, async () => {
        await delay(5);
        count++;
      }),
    );
    for (let i = 0; i < 3; i++) ex.add(i);
    await ex.flush();
    await ex.wait();
    expect(count).toBe(2);
    await ex.close();
  });

  it('TestPeriodicalExecutor_Deadlock: 100,000 adds, 1 task per batch, 1 ms interval, no hang', async () => {
    let executed = 0;
    const ex = new PeriodicalExecutor(
      1,
      new Container(0, (b) => {
        executed += b.length;
      }),
    );
    for (let i = 0; i < 100_000; i++) {
      const accepted = ex.add(i);
      if (accepted) await accepted;
    }
    await ex.wait();
    expect(executed).toBe(100_000);
    await ex.close();
  });

  it('TestPeriodicalExecutor_hasTasks', () => {
    expect(hasTasks(null)).toBe(false);
    expect(hasTasks(undefined)).toBe(false);
    expect(hasTasks(1)).toBe(true);
    expect(hasTasks([])).toBe(false);
    expect(hasTasks([1])).toBe(true);
    expect(hasTasks(new Map())).toBe(false);
    expect(hasTasks(new Set([1]))).toBe(true);
    expect(hasTasks('')).toBe(false);
    expect(hasTasks({ any: 'struct' })).toBe(true);
  });
});

describe('PeriodicalExecutor timing (deterministic, ManualClock)', () => {
  it('flushes a partial batch every interval', async () => {
    const clock = new ManualClock();
    const container = new Container(100);
    const ex = new PeriodicalExecutor(100, container, { clock });
    ex.add(1);
    ex.add(2);
    await clock.advance(99);
    expect(container.executed).toEqual([]);
    await clock.advance(1);
    expect(container.executed).toEqual([[1, 2]]);
    ex.add(3);
    await clock.advance(100);
    expect(container.executed).toEqual([[1, 2], [3]]);
  });

  it('skips the tick right after a size-triggered batch', async () => {
    const clock = new ManualClock();
    const container = new Container(2);
    const ex = new PeriodicalExecutor(100, container, { clock });
    ex.add(1);
    ex.add(2);
    await ex.add(3); // fills: [1, 2, 3] executes at once
    ex.add(4);
    await clock.advance(100); // skipped
    expect(container.executed).toEqual([[1, 2, 3]]);
    await clock.advance(100);
    expect(container.executed).toEqual([[1, 2, 3], [4]]);
  });

  it('idle exit after 10 empty intervals, restarted by the next add', async () => {
    const clock = new ManualClock();
    const container = new Container(100);
    const ex = new PeriodicalExecutor(10, container, { clock });
    ex.add(1);
    await clock.advance(10);
    expect(container.executed).toEqual([[1]]);
    await clock.advance(100);
    expect(ex.running).toBe(true);
    await clock.advance(20);
    expect(ex.running).toBe(false);
    ex.add(2);
    expect(ex.running).toBe(true);
    await clock.advance(10);
    expect(container.executed).toEqual([[1], [2]]);
  });

  it('never executes an empty batch', async () => {
    const clock = new ManualClock();
    const container = new Container(100);
    const ex = new PeriodicalExecutor(10, container, { clock });
    expect(await ex.flush()).toBe(false);
    ex.add(1);
    await ex.flush();
    await clock.advance(100);
    await ex.wait();
    expect(container.executed).toEqual([[1]]);
  });
});

describe('PeriodicalExecutor beyond go-zero', () => {
  it('the adder that fills a batch waits until the previous one finished (back-pressure)', async () => {
    const order: string[] = [];
    const ex = new PeriodicalExecutor(
      1000,
      new Container(1, async (b) => {
        order.push(`start ${b[0]}`);
        await delay(20);
        order.push(`end ${b[0]}`);
      }),
    );
    ex.add(0);
    await ex.add(1); // accepted at once: nothing running
    ex.add(2);
    await ex.add(3); // waits for batch [0, 1] to end
    order.push('accepted [2, 3]');
    await ex.close();
    // Accepted = its execution started, which is only after the previous batch ended.
    expect(order).toEqual(['start 0', 'end 0', 'start 2', 'accepted [2, 3]', 'end 2']);
  });

  it('with concurrency n, never more than n executions at once', async () => {
    let running = 0;
    let max = 0;
    const ex = new PeriodicalExecutor(
      5,
      new Container(3, async () => {
        running++;
        max = Math.max(max, running);
        await delay(Math.random() * 4);
        running--;
      }),
      { concurrency: 3 },
    );
    await Promise.all(
      Array.from({ length: 20 }, async (_, w) => {
        for (let i = 0; i < 50; i++) {
          await ex.add(w * 100 + i);
          if (i % 7 === 0) await delay(0);
        }
      }),
    );
    await ex.close();
    expect(max).toBe(3);
  });

  it('confirms resolve with their batch and reject exactly the tasks of the failed batch', async () => {
    const ex = new PeriodicalExecutor(
      1000,
      new Container(4, (b) => {
        if (b.includes(7)) throw new Error('batch with 7');
      }),
      { onError: () => {} },
    );
    const results = await Promise.allSettled(Array.from({ length: 15 }, (_, i) => ex.addAndConfirm(i)));
    const remaining = ex.flush();
    await remaining;
    const rejected = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
    // Batches: [0..4], [5..9], [10..14] (the container flushes above 4 tasks).
    expect(rejected).toEqual([5, 6, 7, 8, 9]);
    expect((results[7] as PromiseRejectedResult).reason.message).toBe('batch with 7');
    await ex.close();
  });

  it('no task lost when close() races with 1,000 concurrent adders', async () => {
    const executed = new Set<number>();
    const ex = new PeriodicalExecutor(
      2,
      new Container(16, async (b) => {
        if (Math.random() < 0.3) await delay(1);
        for (const t of b) executed.add(t);
      }),
    );
    const accepted = new Set<number>();
    const refused = new Set<number>();
    let closing: Promise<void> | undefined;
    await Promise.all(
      Array.from({ length: 1000 }, async (_, w) => {
        for (let i = 0; i < 20; i++) {
          const task = w * 20 + i;
          if (task === 12_345) closing = ex.close();
          try {
            const p = ex.add(task);
            accepted.add(task);
            if (p) await p;
          } catch (error) {
            expect(error).toBeInstanceOf(ExecutorClosedError);
            refused.add(task);
          }
          if (Math.random() < 0.5) await Promise.resolve();
          else if (Math.random() < 0.05) await delay(0);
        }
      }),
    );
    await closing;
    expect(accepted.size + refused.size).toBe(20_000);
    expect(refused.size).toBeGreaterThan(0);
    expect([...accepted].filter((t) => !executed.has(t))).toEqual([]);
    expect(executed.size).toBe(accepted.size);
  });

  it('add after close() throws ExecutorClosedError at the call', async () => {
    const ex = new PeriodicalExecutor(10, new Container());
    await ex.close();
    expect(() => ex.add(1)).toThrow(ExecutorClosedError);
    expect(() => ex.addAndConfirm(1)).toThrow(ExecutorClosedError);
    await ex.close();
  });

  it('an onError that throws does not stop the executor', async () => {
    const container = new Container(1, (b) => {
      if (b[0] === 0) throw new Error('x');
    });
    const ex = new PeriodicalExecutor(10, container, {
      onError: () => {
        throw new Error('hook broke');
      },
    });
    await ex.add(0);
    await ex.add(1);
    await ex.add(2);
    await ex.add(3);
    await ex.close();
    expect(container.executed.flat()).toEqual([0, 1, 2, 3]);
  });
});
