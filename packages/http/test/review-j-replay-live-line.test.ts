// Review J: 7d5c738 makes close() on a shared engine take back a running replay's records waiting for a
// retry, but it asks each run separately (`withdrawWaiting` per run: a key's line is taken only when all of
// it is that one run's). A replay of keyed records whose key also has records of the same deliverer's live
// run (or of a second replay) in the engine makes one line of two runs: neither run may take it, so it stays
// in the engine. The engine sends the replayed records after the close (their replay rejected), and the
// live record too, which the next start sends again: docs/http.md says only a line holding *another
// deliverer's* records stays in the engine.
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { HttpDeliverer } from '../src/deliverer/http-deliverer.js';
import { DeliveryClosedError } from '../src/delivery/errors.js';
import { pastRetries, sharedEngineCase } from './shared-engine-case.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('review J: close() on a shared engine, a replay of a key that the live run has records of', () => {
  it('takes back the key line of the replay and the live run: the engine sends none of it after the close', async () => {
    const { target, engine, log, state } = await sharedEngineCase('q-http-review-j-line-', (c) => cleanups.push(c), {
      seed: 5,
      records: 4,
    });
    const options = { log, engine, idPrefix: 'a', url: target.url('/a'), keyOf: () => 'k' };

    const deliverer = new HttpDeliverer(options);
    await deliverer.start();
    await until(() => deliverer.stats().cursor === 4, 10_000, 'the live cursor delivered all 4');
    state.down = true;
    const before = target.received.length;
    const outcome = deliverer.replay({ from: 0, to: 2 }).then(
      () => 'resolved',
      (err: unknown) => err,
    );
    // Replayed 0 heads key k and waits for its retry; replayed 1 and 2 wait behind it.
    await until(() => target.received.length > before && engine.stats().waiting === 3, 10_000, 'the replay line waits');
    // A live record of the same key joins the line behind them.
    await log.append('{"seq":4}');
    await until(() => engine.stats().waiting === 4, 10_000, 'live record 4 queued behind the replay');

    await deliverer.close({ timeoutMs: 100 });
    expect(await outcome).toBeInstanceOf(DeliveryClosedError);
    const atClose = target.received.length;
    const waitingAfterClose = engine.stats().waiting;

    state.down = false;
    await pastRetries();
    const sentAfterClose = target.received.slice(atClose).map((r) => (JSON.parse(r.body) as { seq: number }).seq);

    // The next start sends live record 4 again (the cursor stayed below it).
    const next = new HttpDeliverer(options);
    cleanups.push(() => next.close());
    await next.start();
    await until(() => next.stats().cursor === 5, 10_000, 'the next start delivered record 4');
    const okFor4 = target.received.filter((r) => r.fault === 'ok' && r.id === 'a_4').length;

    expect({ waitingAfterClose, sentAfterClose, okFor4 }).toEqual({
      waitingAfterClose: 0,
      sentAfterClose: [],
      okFor4: 1,
    });
  });

  it('takes back the key line of two replays of the same key: the engine sends none of it after the close', async () => {
    const { target, engine, log, state } = await sharedEngineCase('q-http-review-j-two-', (c) => cleanups.push(c), {
      seed: 5,
      records: 4,
    });

    const deliverer = new HttpDeliverer({ log, engine, idPrefix: 'a', url: target.url('/a'), keyOf: () => 'k' });
    await deliverer.start();
    await until(() => deliverer.stats().cursor === 4, 10_000, 'the live cursor delivered all 4');
    state.down = true;
    const before = target.received.length;
    const first = deliverer.replay({ from: 0, to: 1 }).then(
      () => 'resolved',
      (err: unknown) => err,
    );
    await until(
      () => target.received.length > before && engine.stats().waiting === 2,
      10_000,
      'the first replay waits',
    );
    const second = deliverer.replay({ from: 2, to: 3 }).then(
      () => 'resolved',
      (err: unknown) => err,
    );
    await until(() => engine.stats().waiting === 4, 10_000, 'the second replay queued behind the first');

    await deliverer.close({ timeoutMs: 100 });
    expect(await first).toBeInstanceOf(DeliveryClosedError);
    expect(await second).toBeInstanceOf(DeliveryClosedError);
    const atClose = target.received.length;
    const waitingAfterClose = engine.stats().waiting;

    state.down = false;
    await pastRetries();
    const sentAfterClose = target.received.slice(atClose).map((r) => (JSON.parse(r.body) as { seq: number }).seq);
    expect({ waitingAfterClose, sentAfterClose }).toEqual({ waitingAfterClose: 0, sentAfterClose: [] });
  });
});
