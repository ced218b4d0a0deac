import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidOptionError } from '@q/core';
import { openLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { DeadLetters } from '../src/delivery/dead-letters.js';
import { DeliveryEngine } from '../src/delivery/delivery-engine.js';
import { DeadLettersClosedError } from '../src/delivery/errors.js';
import type { DeliveryItem } from '../src/delivery/types.js';
import { json, startTarget } from './engine-target.js';

const dirs: string[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'q-http-dl-'));
  dirs.push(dir);
  return dir;
}

const rejected = (attempts: number, status?: number) =>
  ({ outcome: 'dead-lettered', attempts, reason: 'rejected', status, cause: `HTTP ${status}` }) as const;

describe('DeadLetters', () => {
  it('stores the item with q-dl-* headers and its own as q-h-*, and lists it back', async () => {
    const dir = await tempDir();
    const dl = await DeadLetters.open({ dir });
    const item: DeliveryItem = {
      id: 'orders_12',
      url: 'http://127.0.0.1:9/hook?a=1',
      body: json({ order: 12 }),
      key: 'customer-7',
      seq: 12,
      headers: { traceparent: '00-abc-def-01', 'content-type': 'application/json' },
    };
    const seq = await dl.add(item, rejected(1, 422), 'unprocessable');
    expect(seq).toBe(0);
    expect(dl.count).toBe(1);
    await dl.close();
    await expect(dl.add(item, rejected(1, 422))).rejects.toBeInstanceOf(DeadLettersClosedError);

    // The raw record, as q-log tail shows it.
    const log = await openLog({ dir });
    const [raw] = await log.read(0);
    await log.close();
    expect(raw?.body.toString()).toBe('{"order":12}');
    expect(raw?.headers).toMatchObject({
      'q-dl-id': 'orders_12',
      'q-dl-url': 'http://127.0.0.1:9/hook?a=1',
      'q-dl-reason': 'rejected',
      'q-dl-attempts': '1',
      'q-dl-status': '422',
      'q-dl-cause': 'HTTP 422',
      'q-dl-excerpt': 'unprocessable',
      'q-dl-seq': '12',
      'q-dl-key': 'customer-7',
      'q-h-traceparent': '00-abc-def-01',
      'q-h-content-type': 'application/json',
    });
    expect(Number.isNaN(Date.parse(raw?.headers['q-dl-at'] ?? ''))).toBe(false);

    // Reopened: still there, rebuilt.
    const again = await DeadLetters.open({ dir });
    cleanups.push(() => again.close());
    expect(again.count).toBe(1);
    const [letter] = await again.list();
    expect(letter).toMatchObject({
      seq: 0,
      reason: 'rejected',
      attempts: 1,
      status: 422,
      cause: 'HTTP 422',
      excerpt: 'unprocessable',
    });
    expect(letter?.item).toEqual({ ...item, acceptedAt: undefined });
    expect(Math.abs((letter?.at ?? 0) - Date.now())).toBeLessThan(60_000);
  });

  it('cuts the cause to 512 characters and the excerpt to 16 KiB at a character boundary', async () => {
    const dl = await DeadLetters.open({ dir: await tempDir() });
    cleanups.push(() => dl.close());
    const item = { id: 'x', url: 'http://h/', body: Buffer.alloc(0) };
    await dl.add(
      item,
      { outcome: 'dead-lettered', attempts: 1, reason: 'attempts', cause: 'c'.repeat(2000) },
      '€'.repeat(10_000),
    );
    const [letter] = await dl.list();
    expect(letter?.cause).toHaveLength(512);
    expect(letter?.status).toBeUndefined();
    expect(letter?.excerpt).toBe('€'.repeat(Math.floor(16_384 / 3)));
  });

  it("stores an item whose headers do not fit the log's 64 KiB without them, marked", async () => {
    const dl = await DeadLetters.open({ dir: await tempDir() });
    cleanups.push(() => dl.close());
    const item = {
      id: 'big',
      url: 'http://h/',
      body: json(1),
      headers: { a: 'x'.repeat(40_000), b: 'y'.repeat(40_000) },
    };
    await dl.add(item, rejected(1, 400));
    const [letter] = await dl.list();
    expect(letter?.item.headers).toBeUndefined();
    expect(letter?.item.body.toString()).toBe('1');
    expect(letter?.reason).toBe('rejected');
  });

  it('lists pages by from and max; validates them', async () => {
    const dl = await DeadLetters.open({ dir: await tempDir() });
    cleanups.push(() => dl.close());
    for (let i = 0; i < 25; i++) await dl.add({ id: `m${i}`, url: 'http://h/', body: json(i) }, rejected(i + 1, 404));
    expect((await dl.list()).map((d) => d.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect((await dl.list({ from: 20, max: 3 })).map((d) => d.item.id)).toEqual(['m20', 'm21', 'm22']);
    expect(await dl.list({ from: 25 })).toEqual([]);
    await expect(dl.list({ from: -1 })).rejects.toThrow(InvalidOptionError);
    await expect(dl.list({ max: 0 })).rejects.toThrow(/max/);
  });

  it('redrives a range in order into any function, and all of them into an engine', async () => {
    const dir = await tempDir();
    const dl = await DeadLetters.open({ dir });
    cleanups.push(() => dl.close());
    for (let i = 0; i < 12; i++)
      await dl.add(
        { id: `r${i}`, url: 'http://placeholder/', body: json({ i }), key: i % 2 ? 'odd' : 'even' },
        rejected(1, 400),
      );
    const seen: string[] = [];
    expect(await dl.redrive(async (item) => seen.push(item.id), { from: 3, to: 7 })).toBe(5);
    expect(seen).toEqual(['r3', 'r4', 'r5', 'r6', 'r7']);
    await expect(dl.redrive(async () => {}, { from: -2 })).rejects.toThrow(InvalidOptionError);

    const target = await startTarget(() => 200);
    const engine = new DeliveryEngine({ deadLetters: dl, logger: { error() {}, warn() {}, info() {}, debug() {} } });
    cleanups.push(async () => {
      await engine.close();
      await target.close();
    });
    const count = await dl.redrive((item) => engine.deliver({ ...item, url: target.url }));
    expect(count).toBe(12);
    expect(target.hits.map((h) => h.headers['webhook-id'])).toEqual(Array.from({ length: 12 }, (_, i) => `r${i}`));
    expect(engine.stats().delivered).toBe(12);
    expect(dl.count).toBe(12);
  });

  it('a redrive without a range sends only what no redrive sent yet (durably, across a reopen); concurrent ones never send one twice', async () => {
    const dir = await tempDir();
    let dl = await DeadLetters.open({ dir });
    cleanups.push(() => dl.close());
    const add = async (n: number, from: number) => {
      for (let i = from; i < from + n; i++)
        await dl.add({ id: `d${i}`, url: 'http://placeholder/', body: json({ i }) }, rejected(1, 400));
    };
    await add(5, 0);
    const seen: string[] = [];
    const into = async (item: { id: string }) => {
      seen.push(item.id);
    };
    expect(await dl.redrive(into)).toBe(5);
    await add(2, 5);
    // Two at once: one after the other, so the second finds nothing left.
    const [a, b] = await Promise.all([dl.redrive(into), dl.redrive(into)]);
    expect(a + b).toBe(2);
    expect(seen).toEqual(['d0', 'd1', 'd2', 'd3', 'd4', 'd5', 'd6']);
    expect(dl.redrivenThrough).toBe(7);
    await dl.close();
    dl = await DeadLetters.open({ dir });
    expect(await dl.redrive(into)).toBe(0);
    // An explicit range sends again what it names.
    expect(await dl.redrive(into, { from: 5 })).toBe(2);
    expect(seen.slice(7)).toEqual(['d5', 'd6']);
  });

  it('a redrive that fails part-way keeps what it sent: the next one starts at the one that failed', async () => {
    const dir = await tempDir();
    const dl = await DeadLetters.open({ dir });
    cleanups.push(() => dl.close());
    for (let i = 0; i < 4; i++)
      await dl.add({ id: `f${i}`, url: 'http://placeholder/', body: json({ i }) }, rejected(1, 400));
    const seen: string[] = [];
    await expect(
      dl.redrive(async (item) => {
        if (item.id === 'f2') throw new Error('append failed (test)');
        seen.push(item.id);
      }),
    ).rejects.toThrow(/append failed/);
    expect(dl.redrivenThrough).toBe(2);
    expect(await dl.redrive(async (item) => seen.push(item.id))).toBe(2);
    expect(seen).toEqual(['f0', 'f1', 'f2', 'f3']);
  });
});
