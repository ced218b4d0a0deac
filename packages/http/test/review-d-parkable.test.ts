import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consoleLogger } from '@q/core';
import { afterEach, describe, expect, it } from 'vitest';
import { Park } from '../src/deliverer/park.js';
import { parkable } from '../src/deliverer/park-record.js';
import { DeadLetters } from '../src/delivery/dead-letters.js';
import { DeliveryEngine } from '../src/delivery/delivery-engine.js';
import type { DeliveryItem, Withdrawn } from '../src/delivery/types.js';

const dirs: string[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('review d: parkable', () => {
  it('defect "parkable ignores the body": parkable never says fits for a record the park log refuses', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'q-http-review-d-'));
    dirs.push(dir);
    const deadLetters = await DeadLetters.open({ dir: join(dir, 'dl') });
    cleanups.push(() => deadLetters.close());
    const engine = new DeliveryEngine({ deadLetters });
    cleanups.push(() => engine.close());
    const park = await Park.open({
      dir: join(dir, 'park'),
      engine,
      maxUnfinished: 8,
      commitIntervalMs: 100,
      finished: () => undefined,
      refuse: () => Promise.reject(new Error('unused')),
      error: () => undefined,
      logger: consoleLogger,
    });
    cleanups.push(() => park.log.close());
    const url = 'http://127.0.0.1:9/hook';
    // A record the main log takes at its largest maxRecordBytes (1 GiB): body + `q-url` header <= 2^30.
    // Its park record adds `q-id` and the `q-park-*` headers. (allocUnsafe: pages never touched.)
    const mainHeadersBytes = 4 + 'q-url'.length + url.length;
    const body = Buffer.allocUnsafe(2 ** 30 - mainHeadersBytes);
    const big: DeliveryItem = { id: 'q_7', url, body, acceptedAt: Date.now(), seq: 7 };
    const small: DeliveryItem = { id: 'q_8', url, body: Buffer.from('{}'), acceptedAt: Date.now(), seq: 8 };
    const withdrawn: Withdrawn = { attempts: 3, nextAttemptAt: Date.now() + 60_000, cause: 'HTTP 503', status: 503 };
    const fits = parkable(big);
    const stored = await park
      .store([
        { item: small, withdrawn },
        { item: big, withdrawn },
      ])
      .then(
        () => 'stored',
        (err: Error) => `${err.name}: ${err.message}`,
      );
    // One item parkable() let through fails its whole batch (the small one is not stored either), round after round.
    expect({ fits, stored }).toEqual({ fits, stored: fits ? 'stored' : stored });
  });
});
