// The commands of model.test.ts: each runs one operation on a real SegmentLog and on a plain
// in-memory model (every record acknowledged, the first still stored, the next sequence number,
// the cursors' positions),
// and checks that the two agree.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type LogOptions, type LogRecord, openLog, type SegmentLog } from '@q/log';
import type fc from 'fast-check';
import { expect } from 'vitest';

export interface ModelRecord {
  seq: number;
  body: Buffer;
  headers: Record<string, string>;
  /** Date.now() before the append was called and after it resolved: the record's timestamp is within. */
  t0: number;
  t1: number;
}

export interface Model {
  /** Every record acknowledged, 0..nextSeq-1 (those below firstSeq may be deleted). */
  records: ModelRecord[];
  firstSeq: number;
  /**
   * firstSeq after the last applyRetention, which waits for its deletions to be durable. Retention
   * also runs in the background after commits and rolls; a crash or close can stop it halfway, so
   * after a reopen firstSeq may be back anywhere from here up.
   */
  settledFirst: number;
  nextSeq: number;
  /** Positions of the cursors committed or sought so far, as last seen. */
  cursors: Map<string, number>;
  /**
   * What was asked of each cursor (commit: the highest seq, seek: its seq). A cursor below firstSeq
   * reads as firstSeq; when a crash or close undoes a retention pass, firstSeq and with it such a
   * cursor can come back down, to no less than this.
   */
  requested: Map<string, number>;
}

export interface Real {
  log: SegmentLog;
  dir: string;
  /** Every directory this run made (crash copies too), removed at the end. */
  dirs: string[];
  options: Omit<LogOptions, 'dir'>;
}

export type Cmd = fc.AsyncCommand<Model, Real>;

/** How many of each command ran, over all runs (printed at the end, to see what was exercised). */
export const ran = new Map<string, number>();
const count = (kind: string): void => {
  ran.set(kind, (ran.get(kind) ?? 0) + 1);
};
export type Input = { body: Buffer | string; headers?: Record<string, string> };

const asBuffer = (b: Buffer | string): Buffer => (typeof b === 'string' ? Buffer.from(b) : b);
const show = (i: Input): string =>
  `${typeof i.body === 'string' ? JSON.stringify(i.body) : `${i.body.length} B`}${i.headers ? ` ${JSON.stringify(i.headers)}` : ''}`;

/** The seqs of the segment files, oldest first. */
export function segmentStarts(dir: string): number[] {
  return readdirSync(join(dir, 'segments'))
    .filter((f) => f.endsWith('.seg'))
    .map((f) => Number(f.slice(0, -4)))
    .sort((a, b) => a - b);
}

/** Compares what the log returned with the model's records from `from`. */
function expectRecords(got: LogRecord[], model: Model, from: number, what: string): void {
  const want = model.records.filter((r) => r.seq >= from).slice(0, got.length);
  expect(
    got.map((r) => r.seq),
    what,
  ).toEqual(want.map((r) => r.seq));
  got.forEach((r, i) => {
    const w = want[i] as ModelRecord;
    expect(r.body.equals(w.body), `${what}: body of ${r.seq}`).toBe(true);
    expect(r.headers, `${what}: headers of ${r.seq}`).toEqual(w.headers);
    expect(r.timestamp >= w.t0 && r.timestamp <= w.t1, `${what}: timestamp of ${r.seq}`).toBe(true);
  });
}

/**
 * After any operation (commits and rolls also start retention, in the background): firstSeq only
 * moves forward and never past a cursor; the model drops what the log dropped. After
 * applyRetention (which waits for a pass in the background too), the files agree: firstSeq is the
 * oldest segment's name.
 */
async function checkRetention(model: Model, real: Real, what: string, settled = false): Promise<void> {
  const first = real.log.firstSeq;
  expect(first, what).toBeGreaterThanOrEqual(model.firstSeq);
  if (settled) expect(first, `${what}: firstSeq is the oldest segment`).toBe(segmentStarts(real.dir)[0]);
  if (model.cursors.size > 0) {
    expect(first, `${what}: firstSeq past a cursor`).toBeLessThanOrEqual(Math.min(...model.cursors.values()));
  }
  expect(real.log.nextSeq, what).toBe(model.nextSeq);
  if (first > model.firstSeq) count('firstSeq moved');
  model.firstSeq = first;
  if (settled) model.settledFirst = first;
}

async function append(model: Model, real: Real, inputs: Input[], batch: boolean): Promise<void> {
  const t0 = Date.now();
  const seqs = batch
    ? await real.log.appendBatch(inputs)
    : [await real.log.append(inputs[0]?.body as Buffer, inputs[0]?.headers ? { headers: inputs[0].headers } : {})];
  const t1 = Date.now();
  expect(seqs).toEqual(inputs.map((_, i) => model.nextSeq + i));
  for (const [i, input] of inputs.entries()) {
    model.records.push({ seq: model.nextSeq + i, body: asBuffer(input.body), headers: input.headers ?? {}, t0, t1 });
  }
  model.nextSeq += inputs.length;
  expect(real.log.nextSeq).toBe(model.nextSeq);
  expect(real.log.durableSeq).toBe(model.nextSeq);
}

export const appendCmd = (input: Input): Cmd => ({
  check: () => true,
  run: async (m, r) => {
    count('append');
    await append(m, r, [input], false);
    await checkRetention(m, r, 'after append');
  },
  toString: () => `append(${show(input)})`,
});

export const appendBatchCmd = (inputs: Input[]): Cmd => ({
  check: () => true,
  run: async (m, r) => {
    count('appendBatch');
    await append(m, r, inputs, true);
    await checkRetention(m, r, 'after appendBatch');
  },
  toString: () => `appendBatch([${inputs.map(show).join(', ')}])`,
});

/**
 * Waits for a retention pass a commit or roll started in the background (applyRetention joins it),
 * so that a read aims at records still stored: one from below firstSeq starts at firstSeq, and a
 * reader expecting more than that would wait for appends that never come.
 */
async function settle(m: Model, r: Real): Promise<void> {
  await r.log.applyRetention();
  await checkRetention(m, r, 'before a read', true);
}

/** `at` in [0, 1]: where between firstSeq and nextSeq the command aims. */
const pick = (m: Model, at: number): number => m.firstSeq + Math.floor(at * (m.nextSeq - m.firstSeq));

export const readCmd = (at: number, max: number, maxBytes: number | undefined): Cmd => ({
  check: () => true,
  run: async (m, r) => {
    count('read');
    await settle(m, r);
    const from = pick(m, at);
    const got = await r.log.read(from, maxBytes === undefined ? { max } : { max, maxBytes });
    const available = m.nextSeq - from;
    const what = `read(${from}, max ${max}, maxBytes ${maxBytes})`;
    if (maxBytes === undefined) expect(got.length, what).toBe(Math.min(max, available));
    else {
      expect(got.length, what).toBeLessThanOrEqual(Math.min(max, available));
      if (available > 0) expect(got.length, `${what}: at least one record`).toBeGreaterThan(0);
    }
    expectRecords(got, m, from, what);
  },
  toString: () => `read(at ${at.toFixed(2)}, max ${max}, maxBytes ${maxBytes})`,
});

/** Takes k records from a reader; with `tail`, one more that an append made after the reader waited. */
export const readerCmd = (at: number, k: number, tail: boolean): Cmd => ({
  check: () => true,
  run: async (m, r) => {
    count(tail ? 'reader+tail' : 'reader');
    await settle(m, r);
    const from = pick(m, at);
    const take = Math.min(k, m.nextSeq - from);
    const ac = new AbortController();
    const reader = r.log.reader({ from, signal: ac.signal, batch: 1 + (k % 7) });
    const got: LogRecord[] = [];
    try {
      for (let i = 0; i < take; i++) {
        const next = await reader.next();
        expect(next.done, `reader from ${from}, record ${i}`).toBe(false);
        got.push(next.value as LogRecord);
      }
      expectRecords(got, m, from, `reader from ${from}`);
      if (tail && take === m.nextSeq - from) {
        const waiting = reader.next();
        await new Promise((resolve) => setImmediate(resolve));
        await append(m, r, [{ body: `tail ${m.nextSeq}` }], false);
        const next = await waiting;
        expectRecords([next.value as LogRecord], m, m.nextSeq - 1, 'reader woken by an append');
      }
    } finally {
      await reader.return?.();
      ac.abort();
    }
    await checkRetention(m, r, 'after reader');
  },
  toString: () => `reader(at ${at.toFixed(2)}, take ${k}${tail ? ', then tail one append' : ''})`,
});

export const cursorCmd = (name: string, kind: 'commit' | 'seek', at: number): Cmd => ({
  check: () => true,
  run: async (m, r) => {
    count(kind);
    await settle(m, r);
    const seq = pick(m, at);
    const cursor = await r.log.cursor(name);
    const known = m.cursors.get(name);
    const before = cursor.position;
    if (known !== undefined) expect(before, `cursor ${name} before ${kind}`).toBe(known);
    else {
      // A new cursor starts at the first record stored (retention may be moving it right now).
      expect(before, `new cursor ${name}`).toBeGreaterThanOrEqual(m.firstSeq);
      expect(before, `new cursor ${name}`).toBeLessThanOrEqual(r.log.firstSeq);
    }
    await cursor[kind](seq);
    const wanted = kind === 'commit' ? Math.max(before, seq) : seq;
    const what = `cursor ${name} after ${kind}(${seq})`;
    // Below firstSeq (retention may have moved it since the model last looked) a cursor stops at it.
    if (wanted >= r.log.firstSeq) expect(cursor.position, what).toBe(wanted);
    else {
      expect(cursor.position, what).toBeGreaterThanOrEqual(wanted);
      expect(cursor.position, what).toBeLessThanOrEqual(r.log.firstSeq);
    }
    m.cursors.set(name, cursor.position);
    m.requested.set(name, kind === 'commit' ? Math.max(m.requested.get(name) ?? 0, seq) : seq);
    await checkRetention(m, r, `after ${kind}`);
  },
  toString: () => `cursor ${name}: ${kind}(at ${at.toFixed(2)})`,
});

/** `firstBefore`: the old instance's firstSeq when it closed or was copied (it moves before unlinking). */
async function expectReopened(m: Model, r: Real, what: string, firstBefore: number): Promise<void> {
  expect(r.log.firstSeq, what).toBeGreaterThanOrEqual(m.settledFirst);
  expect(r.log.firstSeq, what).toBeLessThanOrEqual(firstBefore);
  m.firstSeq = r.log.firstSeq;
  expect(r.log.nextSeq, what).toBe(m.nextSeq);
  expect(r.log.durableSeq, what).toBe(m.nextSeq);
  for (const [name, seen] of m.cursors) {
    const position = (await r.log.cursor(name)).position;
    const first = r.log.firstSeq;
    expect(position, `${what}: cursor ${name}`).toBeGreaterThanOrEqual(Math.max(m.requested.get(name) ?? 0, first));
    expect(position, `${what}: cursor ${name}`).toBeLessThanOrEqual(Math.max(seen, first));
    m.cursors.set(name, position);
  }
  expectRecords(await r.log.read(m.firstSeq, { max: 100_000 }), m, m.firstSeq, `${what}: everything`);
}

export const reopenCmd = (): Cmd => ({
  check: () => true,
  run: async (m, r) => {
    count('reopen');
    await r.log.close();
    const firstBefore = r.log.firstSeq;
    r.log = await openLog({ dir: r.dir, ...r.options });
    expect(r.log.recovery.truncatedBytes).toBe(0);
    await expectReopened(m, r, 'after a clean reopen', firstBefore);
  },
  toString: () => 'reopen',
});

export const retentionCmd = (): Cmd => ({
  check: () => true,
  run: async (m, r) => {
    count('applyRetention');
    const before = segmentStarts(r.dir);
    const { deletedSegments } = await r.log.applyRetention();
    const after = segmentStarts(r.dir);
    if (deletedSegments.length > 0) count('applyRetention that deleted');
    // It may also report what a pass already running in the background deleted before `before`.
    expect(
      after.filter((s) => deletedSegments.includes(s)),
      'reported deleted, still there',
    ).toEqual([]);
    expect(
      before.filter((s) => !after.includes(s) && !deletedSegments.includes(s)),
      'deleted, not reported',
    ).toEqual([]);
    if (m.cursors.size > 0) {
      const lowest = Math.min(...m.cursors.values());
      // The oldest segment left must be one a cursor still needs, or the one being written.
      if (after.length > 1) expect(after[1] as number, 'a segment every cursor passed').toBeGreaterThan(lowest);
    }
    await checkRetention(m, r, 'after applyRetention', true);
  },
  toString: () => 'applyRetention',
});

/**
 * A process crash: appends are started and not awaited, the directory's files are copied as they
 * are on disk after `turns` event-loop turns (writes may be half done on the thread pool), and the
 * copy is opened, as the next process would. Whatever was acknowledged before the copy must be
 * there; of the appends in flight, a prefix in sequence order, with exact bodies.
 */
export const crashCmd = (inflight: Input[], turns: number): Cmd => ({
  check: () => true,
  run: async (m, r) => {
    count('crash');
    const acked = new Set<number>();
    const pending = inflight.map((input, i) =>
      r.log.append(input.body, input.headers ? { headers: input.headers } : {}).then((seq) => {
        acked.add(i);
        return seq;
      }),
    );
    for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
    const copy = `${r.dir}-crash${r.dirs.length}`;
    copyDir(r.dir, copy);
    const firstBefore = r.log.firstSeq;
    const ackedAtCopy = new Set(acked);
    const t1 = Date.now();
    const seqs = await Promise.all(pending);
    await r.log.close();
    r.dirs.push(copy);
    r.dir = copy;
    r.log = await openLog({ dir: copy, ...r.options });
    const recovered = r.log.nextSeq - m.nextSeq;
    const what = `crash with ${inflight.length} appends in flight (${ackedAtCopy.size} acknowledged at the copy)`;
    expect(recovered, what).toBeGreaterThanOrEqual(0);
    expect(recovered, what).toBeLessThanOrEqual(inflight.length);
    for (const i of ackedAtCopy) expect(seqs[i] as number, `${what}: acknowledged ${i}`).toBeLessThan(r.log.nextSeq);
    const bySeq = inflight.map((input, i) => ({ input, seq: seqs[i] as number })).sort((a, b) => a.seq - b.seq);
    expect(
      bySeq.map((x) => x.seq),
      what,
    ).toEqual(inflight.map((_, i) => m.nextSeq + i));
    for (const { input, seq } of bySeq.slice(0, recovered)) {
      m.records.push({ seq, body: asBuffer(input.body), headers: input.headers ?? {}, t0: 0, t1 });
    }
    m.nextSeq += recovered;
    await expectReopened(m, r, what, firstBefore);
    await checkRetention(m, r, what);
  },
  toString: () => `crash(${inflight.length} appends in flight, copy after ${turns} turns)`,
});

/**
 * Copies a log directory as it is on disk, without its LOCK (ours, and this process is alive), file
 * by file with plain reads: cpSync (copy_file_range) can spin forever on a file the log's thread
 * pool is rewriting meanwhile. A file gone between listing and reading (retention, oldest segment
 * first) is left out, as a crash after its unlink would.
 */
function copyDir(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name === 'LOCK') continue;
    if (entry.isDirectory()) copyDir(join(from, entry.name), join(to, entry.name));
    else {
      try {
        writeFileSync(join(to, entry.name), readFileSync(join(from, entry.name)));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }
}

/** Removes every directory of a run. */
export function cleanUp(real: Real): void {
  for (const d of real.dirs) rmSync(d, { recursive: true, force: true });
}
