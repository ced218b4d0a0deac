import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { HttpDeliverer } from '../src/deliverer/http-deliverer.js';
import { pastRetries, sharedEngineCase } from './shared-engine-case.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('HttpDeliverer on a shared engine, keyed records', () => {
  it('close() takes back the lines of keys waiting for a retry: the engine sends none of them later, the next start sends them in key order', async () => {
    const { target, engine, log, state } = await sharedEngineCase('q-http-shared-keyed-', (c) => cleanups.push(c), {
      seed: 3,
      records: 20,
      down: true,
    });
    const keyOf = (record: { seq: number }) => `k${record.seq % 4}`;
    const options = { log, engine, idPrefix: 'a', url: target.url('/a'), keyOf };
    const first = new HttpDeliverer(options);
    await first.start();
    // Each key's head was tried once and now waits for its retry, its line queued behind it.
    await until(() => target.received.length >= 4 && engine.stats().waiting === 20, 10_000, 'four heads failed');
    await first.close({ timeoutMs: 100 });
    const atClose = target.received.length;
    expect(engine.stats().waiting).toBe(0);

    state.down = false;
    await pastRetries();
    // Nothing of the closed deliverer was sent by the engine after close.
    expect(target.received.length).toBe(atClose);

    const second = new HttpDeliverer(options);
    cleanups.push(() => second.close());
    await second.start();
    await until(() => second.stats().cursor === 20, 10_000, 'all delivered by the next start');
    const ok = target.received.slice(atClose).filter((r) => r.fault === 'ok');
    const seqs = ok.map((r) => (JSON.parse(r.body) as { seq: number }).seq);
    expect([...seqs].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    for (let k = 0; k < 4; k++) {
      const line = seqs.filter((s) => s % 4 === k);
      expect(line).toEqual([...line].sort((x, y) => x - y));
    }
  });
});
