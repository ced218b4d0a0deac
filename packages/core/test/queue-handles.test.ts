import { createHook } from 'node:async_hooks';
import { Queue } from '@q/core';
import { describe, expect, it } from 'vitest';
import { numberSource, until } from './helpers.js';

/** Active handles by type, without the ones the test runner itself keeps. */
function handles(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

describe('no handles left behind', () => {
  it('100 start/stop cycles leave no timer, immediate or other resource behind', async () => {
    await new Promise((r) => setTimeout(r, 10));
    const before = handles();
    // getActiveResourcesInfo() does not list unref'd timers, so timers are also tracked from creation.
    const liveTimers = new Map<number, string>();
    let settling = false;
    const hook = createHook({
      init(id, type) {
        if (!settling && (type === 'Timeout' || type === 'Immediate')) liveTimers.set(id, type);
      },
      destroy(id) {
        liveTimers.delete(id);
      },
    }).enable();
    for (let cycle = 0; cycle < 100; cycle++) {
      const source = numberSource(50, { batch: cycle % 2 === 0 ? 1 : 10 });
      let consumed = 0;
      const q = new Queue<number>(
        // close() on both sides: waiting for them (bounded by the deadline) must leave no timer.
        () => ({ ...source.producer, close: async () => {} }),
        () => ({
          async consume() {
            consumed++;
          },
          close: async () => {},
        }),
        {
          producers: 2,
          consumers: 3,
          capacity: cycle % 3,
          statsIntervalMs: 5,
          timeoutMs: cycle % 4 === 0 ? 1000 : 0,
          retry: { attempts: 2, minDelayMs: 1 },
        },
      );
      const done = q.start();
      await until(() => consumed === 50);
      void q.broadcast('x');
      await q.stop({ timeoutMs: 1000 });
      await done;
    }
    // Timers cleared with clearTimeout leave nothing; give closed ones one turn to go away.
    settling = true;
    await new Promise((r) => setTimeout(r, 20));
    hook.disable();
    expect([...liveTimers.values()]).toEqual([]);
    const after = handles();
    for (const [type, count] of after) expect(`${type}: ${count}`).toBe(`${type}: ${before.get(type) ?? 0}`);
  });
});
