import { join } from 'node:path';
import { silentLogger } from '@q/core';
import { openLog } from '@q/log';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { delay, until } from '../../../test-support/wait.js';
import { HttpDeliverer, type HttpDelivererOptions } from '../src/deliverer/http-deliverer.js';
import { PARK_GEN } from '../src/deliverer/park-record.js';
import { firstArrivalsByKey, startTarget, tempDir } from './deliverer-target.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Scenarios per run: `Q_HTTP_MODEL_RUNS=200` for a longer hunt, `Q_HTTP_MODEL_SEED` to replay one. */
const RUNS = Number(process.env.Q_HTTP_MODEL_RUNS ?? 25);
const SEED = process.env.Q_HTTP_MODEL_SEED === undefined ? undefined : Number(process.env.Q_HTTP_MODEL_SEED);

interface Scenario {
  /** Each record: its key (undefined: keyless) and whether it goes to the flaky endpoint. */
  readonly records: ReadonlyArray<{ key: number | undefined; flaky: boolean }>;
  readonly maxUnfinished: number;
  /** Share of the flaky endpoint's requests answered 500 until it heals. */
  readonly failRate: number;
  /** When the flaky endpoint heals (ms after the start). */
  readonly healAfterMs: number;
  /** Close and reopen the deliverer on the same directories this long after the start, if set. */
  readonly restartAfterMs: number | undefined;
}

const scenario: fc.Arbitrary<Scenario> = fc.record({
  records: fc.array(
    fc.record({ key: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined, freq: 5 }), flaky: fc.boolean() }),
    { minLength: 50, maxLength: 300 },
  ),
  maxUnfinished: fc.integer({ min: 4, max: 24 }),
  failRate: fc.double({ min: 0.3, max: 1, noNaN: true }),
  healAfterMs: fc.integer({ min: 300, max: 1_500 }),
  restartAfterMs: fc.option(fc.integer({ min: 20, max: 1_200 }), { nil: undefined }),
});

describe('parking keyed records, model-based', () => {
  it('whatever parks, fails to heal or restarts: every record is delivered, and each key in its order', async () => {
    let parkedRuns = 0;
    let movedRuns = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const local: Array<() => Promise<void>> = [];
        try {
          const tmp = await tempDir('q-http-park-model-');
          local.push(() => tmp.remove());
          let failRate = s.failRate;
          const target = await startTarget({
            seed: 3,
            faults: (path) => (path === '/flaky' ? { fail500: failRate } : {}),
          });
          local.push(() => target.close());
          const log = await openLog({ dir: join(tmp.dir, 'log') });
          local.push(() => log.close());
          await log.appendBatch(
            s.records.map(({ key, flaky }, seq) => ({
              body: `${seq}`,
              headers: {
                'q-url': target.url(flaky ? '/flaky' : '/ok'),
                ...(key === undefined ? {} : { 'q-key': `k${key}` }),
              },
            })),
          );
          const options: HttpDelivererOptions = {
            log,
            deadLetterDir: join(tmp.dir, 'dead-letter'),
            parkDir: join(tmp.dir, 'parked'),
            maxUnfinished: s.maxUnfinished,
            commitIntervalMs: 10,
            logger: silentLogger,
            engine: {
              concurrency: 4,
              retry: { maxAttempts: 1_000_000, minDelayMs: 5, maxDelayMs: 40, factor: 2, maxAgeMs: 3_600_000 },
              circuit: { failureThreshold: 1_000_000, openMs: 1_000 },
            },
          };
          const heal = setTimeout(() => {
            failRate = 0;
          }, s.healAfterMs);
          local.push(async () => clearTimeout(heal));
          let deliverer = new HttpDeliverer(options);
          local.push(() => deliverer.close({ timeoutMs: 1_000 }));
          await deliverer.start();
          let parked = 0;
          if (s.restartAfterMs !== undefined) {
            await delay(s.restartAfterMs);
            parked += deliverer.stats().parked;
            await deliverer.close({ timeoutMs: 1_000 });
            deliverer = new HttpDeliverer(options);
            await deliverer.start();
          }
          const total = s.records.length;
          await until(
            () => {
              for (let seq = 0; seq < total; seq++) if (target.okCount(`q_${seq}`) === 0) return false;
              return deliverer.stats().cursor === total && deliverer.stats().parkedBacklog === 0;
            },
            30_000,
            'every record delivered and both cursors at the end',
          );
          parked += deliverer.stats().parked;
          if (parked > 0 && s.records.some((r) => r.key !== undefined && r.flaky)) parkedRuns++;
          expect(deliverer.stats().deadLetters).toBe(0);
          const ids = target.received.filter((r) => r.fault === 'ok').map((r) => r.id as string);
          for (const [key, seqs] of firstArrivalsByKey(ids, (seq) => s.records[seq]?.key)) {
            expect(seqs, `key k${key}`).toEqual([...seqs].sort((a, b) => a - b));
          }
          // Whether the park run moved keys (records stored as a later placement of their key).
          await deliverer.close({ timeoutMs: 1_000 });
          const parkLog = await openLog({ dir: options.parkDir as string });
          const stored = await parkLog.read(0, { max: 1_000_000 });
          await parkLog.close();
          if (stored.some((r) => r.headers[PARK_GEN] !== undefined)) movedRuns++;
        } finally {
          for (const c of local.reverse()) await c();
        }
      }),
      { numRuns: RUNS, seed: SEED, verbose: true, endOnFailure: true },
    );
    // The scenarios must exercise what they test: runs where keyed records were parked.
    expect(parkedRuns).toBeGreaterThan(0);
    expect(movedRuns).toBeGreaterThan(0);
    console.log(
      `park keyed model: ${RUNS} scenarios, ${parkedRuns} of them parked records, ${movedRuns} moved keys in the park log`,
    );
  }, 600_000);
});
