// Review G: a park round of the park run takes the held records of each key it moves with
// `HeldItems.takeKey`, one key at a time; each call filters the whole heap twice and pushes every other held
// item back into a new heap. A round moves up to half a window of lines (5,000 with the default
// `maxUnfinished` of 10,000), so with the rest of the window held (records not due yet, as while an endpoint
// is down) one round costs keys × window × log(window): seconds of event loop blocked in a single
// synchronous call, during which in-flight attempts time out and the live run stalls.
import { describe, expect, it } from 'vitest';
import { HeldItems } from '../src/deliverer/held-items.js';
import type { DeliveryItem } from '../src/delivery/types.js';

describe('review G: HeldItems.takeKey for a round of many keys', () => {
  it('defect: taking the held records of 2,500 keys out of a window of 7,500 held records is quadratic', () => {
    const held = new HeldItems(() => {});
    const due = Date.now() + 3_600_000;
    const item = (n: number, key: string | undefined): DeliveryItem => ({
      id: `i${n}`,
      url: 'http://127.0.0.1:9/down',
      body: Buffer.alloc(0),
      key,
    });
    let seq = 0;
    // 5,000 keyless records of a down endpoint held for their retry, and one held record behind each of
    // 2,500 keys whose head waits in the engine (the round takes those keys' lines).
    for (let n = 0; n < 5_000; n++) held.add(item(seq, undefined), seq++, due + n);
    for (let k = 0; k < 2_500; k++) held.add(item(seq, `k${k}`), seq++, due + k);
    const started = performance.now();
    // A round takes all its keys in one call: one walk of the heap (it was one walk and rebuild per key).
    const taken = held.takeKeys(new Set(Array.from({ length: 2_500 }, (_, k) => `k${k}`)));
    const ms = performance.now() - started;
    expect(taken.map((h) => h.seq)).toEqual(Array.from({ length: 2_500 }, (_, k) => 5_000 + k));
    expect(held.size).toBe(5_000);
    held.clear();
    console.log(`review G takeKeys: 2,500 keys out of 7,500 held in ${ms.toFixed(1)} ms (was 713-996 ms, key by key)`);
  });
});
