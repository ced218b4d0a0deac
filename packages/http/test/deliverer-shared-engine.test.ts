import { join } from 'node:path';
import { openLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { HttpDeliverer } from '../src/deliverer/http-deliverer.js';
import { DeadLetters } from '../src/delivery/dead-letters.js';
import { DeliveryEngine } from '../src/delivery/delivery-engine.js';
import { DeliveryClosedError } from '../src/delivery/errors.js';
import type { DeliveryItem } from '../src/delivery/types.js';
import { startTarget, tempDir } from './deliverer-target.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('HttpDeliverer on a shared engine', () => {
  it('two deliverers share one engine: each counts and re-emits only its own items; closing one leaves the engine open; closing the engine stops the other with an error', async () => {
    const tmp = await tempDir('q-http-shared-');
    cleanups.push(() => tmp.remove());
    const target = await startTarget({ seed: 5, faults: { fail500: 0.2 } });
    cleanups.push(() => target.close());
    const deadLetters = await DeadLetters.open({ dir: join(tmp.dir, 'dead-letter') });
    cleanups.push(() => deadLetters.close());
    const engine = new DeliveryEngine({ deadLetters, concurrency: 8, retry: { minDelayMs: 5, maxDelayMs: 20 } });
    cleanups.push(() => engine.close());

    const open = async (name: string, count: number) => {
      const log = await openLog({ dir: join(tmp.dir, name) });
      cleanups.push(() => log.close());
      await log.appendBatch(Array.from({ length: count }, (_, seq) => ({ body: `{"seq":${seq}}` })));
      const deliverer = new HttpDeliverer({ log, engine, idPrefix: name, url: target.url(`/${name}`) });
      cleanups.push(() => deliverer.close());
      const seen: string[] = [];
      deliverer.on('delivered', (item: DeliveryItem) => seen.push(item.id));
      return { log, deliverer, seen };
    };
    const a = await open('a', 300);
    const b = await open('b', 200);
    await Promise.all([a.deliverer.start(), b.deliverer.start()]);
    await until(() => a.deliverer.stats().cursor === 300 && b.deliverer.stats().cursor === 200, 30_000, 'both done');
    expect(a.deliverer.engine).toBe(engine);
    expect(a.deliverer.stats()).toMatchObject({ delivered: 300, deadLettered: 0 });
    expect(b.deliverer.stats()).toMatchObject({ delivered: 200, deadLettered: 0 });
    expect(a.seen.length).toBe(300);
    expect(a.seen.every((id) => id.startsWith('a_'))).toBe(true);
    expect(b.seen.every((id) => id.startsWith('b_'))).toBe(true);
    expect(engine.stats().delivered).toBe(500);
    expect(a.deliverer.stats().retried + b.deliverer.stats().retried).toBe(engine.stats().retried);

    await a.deliverer.close();
    await b.log.append('{"after":1}');
    await until(() => b.deliverer.stats().cursor === 201, 10_000, 'the shared engine still delivering');

    const errors: unknown[] = [];
    b.deliverer.on('error', (err) => errors.push(err));
    await engine.close();
    await b.log.append('{"after":2}');
    await until(() => errors.length > 0, 10_000, 'the error of the closed engine');
    expect(errors[0]).toBeInstanceOf(DeliveryClosedError);
    expect(b.deliverer.stats().cursor).toBe(201);
    await b.deliverer.close();
    expect((await b.log.cursor('http')).position).toBe(201);
  });
});
