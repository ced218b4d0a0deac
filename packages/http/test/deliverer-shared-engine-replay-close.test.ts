import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { HttpDeliverer } from '../src/deliverer/http-deliverer.js';
import { DeliveryClosedError } from '../src/delivery/errors.js';
import { pastRetries, sharedEngineCase } from './shared-engine-case.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('HttpDeliverer on a shared engine, a replay running at close', () => {
  it('close() takes back the replayed records waiting for a retry: the engine sends none of them after the close', async () => {
    const { target, engine, log, state } = await sharedEngineCase('q-http-shared-replay-', (c) => cleanups.push(c), {
      seed: 5,
      records: 20,
    });
    const deliverer = new HttpDeliverer({ log, engine, idPrefix: 'a', url: target.url('/a') });
    await deliverer.start();
    await until(() => deliverer.stats().cursor === 20, 10_000, 'the live cursor delivered all 20');
    state.down = true;
    const before = target.received.length;
    const replay = deliverer.replay({ from: 0, to: 3 });
    const outcome = replay.then(
      () => 'resolved',
      (err: unknown) => err,
    );
    // Every replayed record was tried once and now waits for its retry (four: the circuit opens at five).
    await until(
      () => target.received.length - before >= 4 && engine.stats().waiting === 4,
      10_000,
      'four replayed records failed once',
    );
    await deliverer.close({ timeoutMs: 100 });
    expect(await outcome).toBeInstanceOf(DeliveryClosedError);
    expect(engine.stats().waiting).toBe(0);
    const atClose = target.received.length;

    state.down = false;
    await pastRetries();
    // The retries were due by now: none of them went out once the deliverer was closed.
    expect(target.received.length).toBe(atClose);
  });
});
