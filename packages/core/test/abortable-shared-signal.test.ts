import { getEventListeners } from 'node:events';
import { ChunkExecutor, ConfirmAbortedError } from '@q/core';
import { abortable, keepListening } from '@q/core/internal';
import { describe, expect, it } from 'vitest';

// One AbortSignal per process (or per request) shared by many concurrent waits is the usual way to
// use signals; each wait adding its own listener made Node print MaxListenersExceededWarning past 10.
describe('many waits on one signal', () => {
  it('add one listener to the signal, abort them all, and leave none behind', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const controller = new AbortController();
      const { signal } = controller;
      const never = new Promise<void>(() => {});
      const waits = Array.from({ length: 50 }, () => abortable(never, signal, () => 'aborted'));
      expect(getEventListeners(signal, 'abort').length).toBeLessThanOrEqual(1);
      const done = Array.from({ length: 50 }, (_, i) => abortable(Promise.resolve(i), signal, () => -1));
      expect(await Promise.all(done)).toEqual(Array.from({ length: 50 }, (_, i) => i));
      controller.abort();
      expect(await Promise.all(waits)).toEqual(Array(50).fill('aborted'));
      expect(getEventListeners(signal, 'abort')).toHaveLength(0);

      const writer = new ChunkExecutor<number>(() => new Promise<void>(() => {}), { flushIntervalMs: 1 });
      const caller = new AbortController();
      const confirms = Array.from({ length: 30 }, (_, i) =>
        writer.addAndConfirm(i, 1, { signal: caller.signal }).catch((e: unknown) => e),
      );
      expect(getEventListeners(caller.signal, 'abort').length).toBeLessThanOrEqual(1);
      caller.abort();
      for (const e of await Promise.all(confirms)) expect(e).toBeInstanceOf(ConfirmAbortedError);
      expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it("a kept signal keeps its one listener between waits (a connection's), still fires, and lets go once aborted", async () => {
    const controller = new AbortController();
    const { signal } = controller;
    keepListening(signal);
    for (let i = 0; i < 3; i++) expect(await abortable(Promise.resolve(i), signal, () => -1)).toBe(i);
    expect(getEventListeners(signal, 'abort')).toHaveLength(1);
    const never = new Promise<void>(() => {});
    const waits = [abortable(never, signal, () => 'a'), abortable(never, signal, () => 'b')];
    expect(getEventListeners(signal, 'abort')).toHaveLength(1);
    controller.abort();
    expect(await Promise.all(waits)).toEqual(['a', 'b']);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    // A signal not kept loses its listener with its last wait, as before.
    const plain = new AbortController().signal;
    await abortable(Promise.resolve(1), plain, () => -1);
    expect(getEventListeners(plain, 'abort')).toHaveLength(0);
  });
});
