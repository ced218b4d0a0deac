/**
 * The outbox against a model, with fast-check: random sequences of sends (concurrent groups), sink
 * faults through a TCP proxy in front of the run's redis-server (stall: nothing forwarded, nothing
 * closed; resume; a connection cut; a reply lost after Redis ran the write) and restarts (close with a
 * short deadline, then a new Outbox on the same directory), in both modes. At the end: the set of bodies
 * in the Redis list equals the set of resolved sends (nothing lost, nothing extra, nothing twice), the
 * ids in the list increase in list order, and each group of sends got higher ids than the groups before.
 *
 *   vitest run packages/outbox/test/model.test.ts                     Q_OUTBOX_MODEL_RUNS (default 25) per mode
 *   Q_OUTBOX_MODEL_SEED=<seed> vitest run packages/outbox/test/model.test.ts   replays a failure (printed)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@q/core';
import { RedisListPusher } from '@q/redis';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startTcpProxy } from '../../../test-support/tcp-proxy.js';
import { delay, until } from '../../../test-support/wait.js';
import { Outbox } from '../src/index.js';
import { uniqueKey } from './support/fixtures.js';

const RUNS = Number(process.env.Q_OUTBOX_MODEL_RUNS ?? 25);
const SEED = Number(process.env.Q_OUTBOX_MODEL_SEED ?? Math.floor(Math.random() * 2 ** 31));
const base = mkdtempSync(join(tmpdir(), 'q-outbox-model-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

type Step =
  | { readonly kind: 'send'; readonly count: number; readonly concurrency: number }
  | { readonly kind: 'stall' }
  | { readonly kind: 'resume' }
  | { readonly kind: 'cut' }
  | { readonly kind: 'lose-reply' }
  | { readonly kind: 'restart' };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('send' as const),
      count: fc.integer({ min: 1, max: 40 }),
      concurrency: fc.integer({ min: 1, max: 8 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'stall' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'resume' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'cut' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'lose-reply' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
);

let runs = 0;

async function runSteps(mode: 'write-ahead' | 'direct-first', steps: readonly Step[]): Promise<void> {
  const dir = join(base, `run-${runs++}`);
  const proxy = await startTcpProxy({ port: Number(new URL(inject('redisUrl')).port) });
  const redis = new Redis({ host: proxy.host, port: proxy.port, maxRetriesPerRequest: null });
  redis.on('error', () => undefined); // cut connections are the point
  const key = uniqueKey('model');
  const sink = new RedisListPusher({
    redis,
    key,
    dedupe: 'outbox-id',
    highWaterKey: `${key}:hwm`,
    logger: silentLogger,
  });
  const open = () =>
    new Outbox({
      dir,
      sink,
      mode,
      logger: silentLogger,
      directTimeoutMs: 100,
      batchMessages: 16,
      retry: { minDelayMs: 5, maxDelayMs: 50 },
    });
  let outbox = open();
  const seqOf = new Map<string, number>();
  const groups: number[][] = [];
  let n = 0;
  try {
    for (const s of steps) {
      if (s.kind === 'send') {
        const seqs: number[] = [];
        let i = 0;
        await Promise.all(
          Array.from({ length: s.concurrency }, async () => {
            while (i < s.count) {
              i++;
              const body = `m${n++}`;
              const { seq } = await outbox.send(body);
              seqOf.set(body, seq);
              seqs.push(seq);
            }
          }),
        );
        groups.push(seqs);
      } else if (s.kind === 'stall') proxy.stall();
      else if (s.kind === 'resume') proxy.resume();
      else if (s.kind === 'cut') proxy.dropConnections();
      else if (s.kind === 'lose-reply') void proxy.dropNextReply(() => true);
      else {
        await outbox.close({ timeoutMs: 50 });
        outbox = open();
        await outbox.ready();
      }
      await delay(5);
    }
    proxy.resume();
    await until(() => outbox.stats().backlogMessages === 0, 20_000, 'backlog forwarded');
    await until(async () => (await redis.llen(key)) >= seqOf.size, 20_000, 'every resolved send in redis');
    await outbox.close();
    const bodies = await redis.lrange(key, 0, -1);
    expect([...bodies].sort()).toEqual([...seqOf.keys()].sort());
    const seqs = bodies.map((b) => seqOf.get(b) as number);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i] as number).toBeGreaterThan(seqs[i - 1] as number);
    for (let g = 1; g < groups.length; g++)
      if ((groups[g] as number[]).length > 0 && (groups[g - 1] as number[]).length > 0)
        expect(Math.min(...(groups[g] as number[]))).toBeGreaterThan(Math.max(...(groups[g - 1] as number[])));
  } finally {
    proxy.resume();
    await outbox.close({ timeoutMs: 0 }).catch(() => undefined);
    await sink.close().catch(() => undefined);
    redis.disconnect();
    await proxy.close();
    await redis.del(key, `${key}:hwm`).catch(() => undefined);
  }
}

describe('the outbox against a model (fast-check)', () => {
  for (const mode of ['write-ahead', 'direct-first'] as const) {
    it(`${mode}: ${RUNS} random sequences of sends, sink stalls, cut connections, lost replies and restarts`, async () => {
      console.log(`Q_OUTBOX_MODEL_SEED=${SEED}`);
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 2, maxLength: 10 }), (steps) => runSteps(mode, steps)),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
    }, 120_000);
  }
});
