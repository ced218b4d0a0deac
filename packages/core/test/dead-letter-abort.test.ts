import { ChunkExecutor, ConfirmAbortedError, type ConfirmingPusher, type PushInfo, Queue, silentLogger } from '@q/core';
import { describe, expect, it } from 'vitest';
import { numberSource, until } from './helpers.js';

/** A batching dead-letter destination on a real ChunkExecutor whose writes wait for `release()`. */
class HeldDestination implements ConfirmingPusher<number> {
  readonly written: number[] = [];
  readonly signals: (AbortSignal | undefined)[] = [];
  readonly rejections: unknown[] = [];
  #open!: () => void;
  readonly #gate = new Promise<void>((resolve) => {
    this.#open = resolve;
  });
  readonly executor = new ChunkExecutor<number>(
    async (batch) => {
      await this.#gate;
      this.written.push(...batch);
    },
    { flushIntervalMs: 1 },
  );
  name(): string {
    return 'held';
  }
  push(m: number, info?: PushInfo): Promise<void> {
    return this.pushAndConfirm(m, info);
  }
  pushAndConfirm(m: number, info?: PushInfo): Promise<void> {
    this.signals.push(info?.signal);
    return this.executor.addAndConfirm(m, 1, { signal: info?.signal }).catch((error: unknown) => {
      this.rejections.push(error);
      throw error;
    });
  }
  release(): void {
    this.#open();
  }
}

describe('dead letter and the stop deadline', () => {
  it('the deadline aborts a dead-letter push under way: the message is nacked once, never also dead-lettered', async () => {
    const source = numberSource(1);
    const dlq = new HeldDestination();
    const q = new Queue<number>(
      () => source.producer,
      () => ({
        consume() {
          throw new Error('bad');
        },
      }),
      { producers: 1, consumers: 1, deadLetter: dlq, logger: silentLogger },
    );
    const done = q.start();
    await until(() => dlq.signals.length === 1, 5000, 'the dead-letter push');
    const started = performance.now();
    await q.stop({ timeoutMs: 100 });
    await done;
    // The push was given the loop's stop signal, and the deadline ended its wait.
    expect(dlq.signals[0]).toBeInstanceOf(AbortSignal);
    expect(dlq.signals[0]?.aborted).toBe(true);
    expect(performance.now() - started).toBeLessThan(2000);
    await until(() => dlq.rejections.length === 1, 1000, 'the aborted confirm');
    expect(dlq.rejections[0]).toBeInstanceOf(ConfirmAbortedError);
    // The write lands after all (its outcome was unknown): still no second settlement.
    dlq.release();
    await dlq.executor.close();
    expect(dlq.written).toEqual([0]);
    expect(source.log.outcomes.get(0)?.map((o) => o.type)).toEqual(['nacked']);
    expect(source.log.duplicates()).toEqual([]);
    const stats = q.stats();
    expect(stats.deadLettered).toBe(0);
    expect(stats.nacked).toBe(1);
    expect(dlq.signals).toHaveLength(1);
  });
});
