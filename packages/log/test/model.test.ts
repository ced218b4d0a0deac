/**
 * SegmentLog against a simple in-memory model, with fast-check: random sequences of append,
 * appendBatch, read (from anywhere stored, with max and maxBytes), reader (take k, and tail one
 * append it must be woken for), cursor commit and seek, reopen, applyRetention (segments of 1 KiB,
 * so they roll often and retention has whole segments to delete) and crash (the directory copied as
 * it is on disk while appends are in flight, then opened, see model-commands.ts). After each step:
 * read results, cursor positions, firstSeq / nextSeq / durableSeq, and every acknowledged append
 * still there.
 *
 *   vitest run packages/log/test/model.test.ts                 Q_LOG_MODEL_RUNS (default 40) runs
 *   Q_LOG_MODEL_RUNS=2000 vitest run packages/log/test/model.test.ts
 *   Q_LOG_MODEL_SEED=<seed> Q_LOG_MODEL_PATH=<path> vitest run ...      replays a failure (printed)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLog } from '@q/log';
import fc from 'fast-check';
import { afterAll, describe, it } from 'vitest';
import {
  appendBatchCmd,
  appendCmd,
  type Cmd,
  cleanUp,
  crashCmd,
  cursorCmd,
  type Input,
  type Model,
  type Real,
  ran,
  readCmd,
  readerCmd,
  reopenCmd,
  retentionCmd,
} from './model-commands.js';

const RUNS = Number(process.env.Q_LOG_MODEL_RUNS ?? 40);
// Printed before the run, so even a run that never ends can be replayed.
const SEED = Number(process.env.Q_LOG_MODEL_SEED ?? Math.floor(Math.random() * 2 ** 31));
const PATH = process.env.Q_LOG_MODEL_PATH;
/** Segments of 1 KiB appended to, and segments of 8 KiB zero-filled 4 KiB ahead of the writer. */
const VARIANTS = [
  // A tail cache smaller than a large group: it fills, evicts, and turns itself off and on again.
  { sync: 'always', segmentBytes: 1024, indexIntervalBytes: 128, tailCacheBytes: 2048 },
  { sync: 'always', segmentBytes: 8192, indexIntervalBytes: 128, preallocateBytes: 4096 },
] as const;

const base = mkdtempSync(join(tmpdir(), 'q-log-model-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const input: fc.Arbitrary<Input> = fc.record(
  {
    body: fc.oneof(
      fc.uint8Array({ maxLength: 600, size: 'max' }).map((a) => Buffer.from(a)),
      fc.string({ maxLength: 40, unit: 'binary' }),
    ),
    headers: fc.dictionary(fc.constantFrom('id', 'key', 'url', 'ü'), fc.string({ maxLength: 12 }), { maxKeys: 2 }),
  },
  { requiredKeys: ['body'] },
);
// Where a read, reader, commit or seek aims, between firstSeq and nextSeq: often the very end, so
// cursors pass whole segments and retention has something to delete.
const at = fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constant(1));
const cursorName = fc.constantFrom('a', 'b');

const batch = fc.array(input, { minLength: 1, maxLength: 12 }).map(appendBatchCmd);
/** A step that does not finish within STEP_MS fails, naming itself, instead of hanging the run. */
const STEP_MS = 5000;
const bounded = (cmd: Cmd): Cmd => ({
  check: (m) => cmd.check(m),
  run: async (m, r) => {
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${cmd.toString()} did not finish within ${STEP_MS} ms`)), STEP_MS);
    });
    try {
      await Promise.race([cmd.run(m, r), hang]);
    } finally {
      clearTimeout(timer);
    }
  },
  toString: () => cmd.toString(),
});

const commands: fc.Arbitrary<Cmd>[] = [
  input.map(appendCmd),
  batch,
  batch,
  fc
    .tuple(at, fc.integer({ min: 1, max: 40 }), fc.option(fc.integer({ min: 1, max: 2000 }), { nil: undefined }))
    .map(([a, max, maxBytes]) => readCmd(a, max, maxBytes)),
  fc.tuple(at, fc.integer({ min: 0, max: 30 }), fc.boolean()).map(([a, k, tail]) => readerCmd(a, k, tail)),
  fc
    .tuple(cursorName, fc.constantFrom('commit', 'seek') as fc.Arbitrary<'commit' | 'seek'>, at)
    .map(([n, kind, a]) => cursorCmd(n, kind, a)),
  fc.constant(null).map(reopenCmd),
  fc.constant(null).map(retentionCmd),
  fc
    .tuple(fc.array(input, { minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 3 }))
    .map(([inflight, turns]) => crashCmd(inflight, turns)),
];

describe.each(VARIANTS)('SegmentLog against a model (segmentBytes $segmentBytes)', (OPTIONS) => {
  it(`${RUNS} random command sequences: reads, readers, cursors, firstSeq/nextSeq and every acknowledged append agree with the model`, async () => {
    let run = 0;
    console.log(`Q_LOG_MODEL_SEED=${SEED}`);
    await fc.assert(
      fc.asyncProperty(
        fc.commands(
          commands.map((a) => a.map(bounded)),
          { maxCommands: 40, size: 'medium' },
        ),
        async (cmds) => {
          const dir = join(base, `run-${run++}`);
          const real: Real = {
            log: await openLog({ dir, ...OPTIONS }),
            dir,
            dirs: [dir],
            options: OPTIONS,
          };
          try {
            const model: Model = {
              records: [],
              firstSeq: 0,
              settledFirst: 0,
              nextSeq: 0,
              cursors: new Map(),
              requested: new Map(),
            };
            await fc.asyncModelRun(() => ({ model, real }), cmds);
          } finally {
            await Promise.race([real.log.close().catch(() => {}), new Promise((r) => setTimeout(r, STEP_MS))]);
            cleanUp(real);
          }
        },
      ),
      {
        numRuns: RUNS,
        endOnFailure: process.env.Q_LOG_MODEL_SHRINK === '0',
        seed: SEED,
        ...(PATH ? { path: PATH } : {}),
      },
    );
    console.log(`commands run: ${[...ran].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  }, 120_000);
});
