import { join } from 'node:path';
import { openLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { HttpDeliverer } from '../src/deliverer/http-deliverer.js';
import { DeadLetters } from '../src/delivery/dead-letters.js';
import { DeliveryEngine } from '../src/delivery/delivery-engine.js';
import { startTarget, tempDir } from './deliverer-target.js';

const quiet = { error() {}, warn() {}, info() {}, debug() {} };
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('review: HttpDeliverer on a shared engine', () => {
  it('defect "invalid record stalls a shared engine\'s deliverer": a record the engine refuses is dead-lettered in the engine\'s dead letters and the cursor passes it', async () => {
    const tmp = await tempDir('q-http-review-invalid-');
    cleanups.push(() => tmp.remove());
    const target = await startTarget();
    cleanups.push(() => target.close());
    const deadLetters = await DeadLetters.open({ dir: join(tmp.dir, 'dead-letter') });
    cleanups.push(() => deadLetters.close());
    const engine = new DeliveryEngine({ deadLetters, logger: quiet });
    cleanups.push(() => engine.close());
    const log = await openLog({ dir: join(tmp.dir, 'log') });
    cleanups.push(() => log.close());
    // A q-id with a '.' cannot be signed (Standard Webhooks ids hold no '.'): the engine refuses the item.
    await log.appendBatch([
      { body: '{"n":0}' },
      { body: '{"n":1}', headers: { 'q-id': 'bad.id' } },
      { body: '{"n":2}' },
    ]);
    const deliverer = new HttpDeliverer({ log, engine, url: target.url('/hook'), logger: quiet });
    cleanups.push(() => deliverer.close());
    const errors: unknown[] = [];
    deliverer.on('error', (err) => errors.push(err));
    await deliverer.start();
    expect(deliverer.deadLetters).toBe(deadLetters);
    await until(() => deliverer.stats().cursor === 3, 5_000, 'the cursor past the refused record');
    expect(deliverer.stats()).toMatchObject({ delivered: 2, deadLettered: 1, unfinished: 0 });
    const [letter] = await deadLetters.list();
    expect(letter).toMatchObject({ reason: 'rejected', item: { id: 'bad.id', seq: 1 } });
    expect(errors).toEqual([]);
  });
});
