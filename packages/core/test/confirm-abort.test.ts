import {
  BulkExecutor,
  ChunkExecutor,
  ConfirmAbortedError,
  InvalidOptionError,
  type PeriodicalExecutor,
  QueueError,
} from '@q/core';
import { describe, expect, it } from 'vitest';
import { outcomeWithin, until } from '../../../test-support/wait.js';

/** An execute that holds every batch until `release()`. */
function held(): { execute: (batch: string[]) => Promise<void>; batches: string[][]; release: () => void } {
  const batches: string[][] = [];
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  return {
    batches,
    release: () => open(),
    execute: async (batch) => {
      batches.push(batch);
      await gate;
    },
  };
}

describe('addAndConfirm with a signal', () => {
  it('an abort rejects that caller at once with ConfirmAbortedError; the rest of its batch still confirms', async () => {
    const h = held();
    const ex = new ChunkExecutor<string>(h.execute, { chunkBytes: 3, flushIntervalMs: 10_000 });
    const controller = new AbortController();
    const a = ex.addAndConfirm('a', 1);
    const b = ex.addAndConfirm('b', 1, { signal: controller.signal });
    const c = ex.addAndConfirm('c', 1); // fills the chunk: it executes, held
    await until(() => h.batches.length === 1, 1000, 'the chunk to execute');
    expect(h.batches).toEqual([['a', 'b', 'c']]);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    const error = await b.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfirmAbortedError);
    expect(error).toBeInstanceOf(QueueError);
    expect((error as ConfirmAbortedError).code).toBe('Q_CONFIRM_ABORTED');
    expect((error as ConfirmAbortedError).cause).toBe(reason);
    expect(await outcomeWithin(a, 20)).toBe('pending');
    h.release();
    expect(await outcomeWithin(Promise.all([a, c]), 1000)).toBe('resolved');
    // The aborted task was not taken out: it went with its batch.
    expect(h.batches).toEqual([['a', 'b', 'c']]);
    await ex.close();
  });

  it('a signal aborted before the call: rejected at once, the task is not added', async () => {
    const executed: string[][] = [];
    const ex = new ChunkExecutor<string>((batch) => void executed.push(batch), { flushIntervalMs: 10_000 });
    const signal = AbortSignal.abort();
    await expect(ex.addAndConfirm('x', 1, { signal })).rejects.toBeInstanceOf(ConfirmAbortedError);
    await expect(ex.flush({ signal })).rejects.toBeInstanceOf(ConfirmAbortedError);
    const y = ex.addAndConfirm('y', 1, {});
    await ex.close();
    await expect(y).resolves.toBeUndefined();
    expect(executed).toEqual([['y']]);
  });

  it('a confirm that settled first leaves no listener behind (a long-lived signal collects none)', async () => {
    const ex = new BulkExecutor<number>(() => {}, { bulkTasks: 1, flushIntervalMs: 10_000 });
    const controller = new AbortController();
    let listeners = 0;
    const add = controller.signal.addEventListener.bind(controller.signal);
    const remove = controller.signal.removeEventListener.bind(controller.signal);
    controller.signal.addEventListener = ((...args: Parameters<typeof add>) => {
      listeners++;
      add(...args);
    }) as typeof add;
    controller.signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      listeners--;
      remove(...args);
    }) as typeof remove;
    for (let i = 0; i < 50; i++) await ex.addAndConfirm(i, { signal: controller.signal });
    expect(listeners).toBe(0);
    await ex.close();
  });

  it('flush with a signal: the wait ends, the flush goes on', async () => {
    const h = held();
    const ex = new ChunkExecutor<string>(h.execute, { flushIntervalMs: 10_000 });
    const confirmed = ex.addAndConfirm('m', 1);
    const controller = new AbortController();
    const flushed = ex.flush({ signal: controller.signal });
    controller.abort();
    await expect(flushed).rejects.toBeInstanceOf(ConfirmAbortedError);
    h.release();
    await expect(confirmed).resolves.toBeUndefined();
    expect(h.batches).toEqual([['m']]);
    await ex.close();
  });

  it('a signal that is not an AbortSignal is an InvalidOptionError naming it', () => {
    const ex = new ChunkExecutor<string>(() => {});
    expect(() => ex.addAndConfirm('m', 1, { signal: {} as AbortSignal })).toThrow(InvalidOptionError);
    expect(() => ex.addAndConfirm('m', 1, { signal: {} as AbortSignal })).toThrow(/"signal"/);
    void ex.close();
  });

  it('a BulkExecutor called through a PeriodicalExecutor reference keeps the signal (third argument)', async () => {
    const h = held();
    const bulk = new BulkExecutor<string>(h.execute, { bulkTasks: 2, flushIntervalMs: 10_000 });
    const asBase: PeriodicalExecutor<string, string[]> = bulk;
    const controller = new AbortController();
    const a = asBase.addAndConfirm('a', undefined, { signal: controller.signal });
    const reason = new Error('gave up');
    controller.abort(reason);
    const error = await a.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfirmAbortedError);
    expect((error as ConfirmAbortedError).cause).toBe(reason);
    // Also with a size in the second place, as the base class's callers pass it.
    const c2 = new AbortController();
    const b = asBase.addAndConfirm('b', 1, { signal: c2.signal });
    c2.abort();
    await expect(b).rejects.toBeInstanceOf(ConfirmAbortedError);
    h.release();
    await bulk.flush();
  });
});
