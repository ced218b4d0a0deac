// Found profiling the proxy during the chaos test: once the idempotency window is full, every send
// with a key evicts the oldest key with `keys().next()` on a Map whose front is a run of deleted
// slots (V8 keeps them until the table is rebuilt), so each eviction walks all of them: about
// 100 µs per send on average at the default window of 100,000 (10 to 240 µs as the deleted slots
// pile up and are compacted), 12% of the proxy's CPU in the chaos run
// (`#sendAccepted`'s self time), where a keyed send otherwise costs a few hundred µs in all.
import { describe, expect, it } from 'vitest';
import { IdempotencyIndex, type Taken } from '../src/idempotency.js';

describe('IdempotencyIndex at a full window', () => {
  it('remembers a new key (evicting the oldest) in constant time, not in time growing with the window', () => {
    const window = 100_000;
    const index = new IdempotencyIndex(window);
    const taken: Promise<Taken> = Promise.resolve({ id: 'o:1', seq: 1 });
    for (let i = 0; i < window; i++) index.set(`k${i}`, taken);
    const extra = 100_000;
    const started = performance.now();
    for (let i = window; i < window + extra; i++) index.set(`k${i}`, taken);
    const ms = performance.now() - started;
    expect(index.size).toBe(window);
    expect(index.get('k0')).toBeUndefined();
    expect(index.get(`k${window + extra - 1}`)).toBe(taken);
    // Constant time: about 100 ms for the 100,000 here. Walking the deleted slots costs 10 µs a key
    // at first, growing past 100 µs until V8 rebuilds the table: about 5 s for these 100,000.
    expect(ms, `${extra} keys remembered at a full window in ${Math.round(ms)} ms`).toBeLessThan(1500);
  });
});
