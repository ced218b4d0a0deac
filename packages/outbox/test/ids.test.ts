import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidOptionError } from '@q/core';
import { openLog } from '@q/log';
import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { Outbox, OutboxFileError } from '../src/index.js';
import { counts, listBodies, redisSink, silentLogger, tempDir } from './support/fixtures.js';

describe('stable ids: <outbox id>:<seq>', () => {
  it('the generated outbox id is stored in <dir>/OUTBOX and kept by every later open; another id is refused', async () => {
    const { sink } = redisSink();
    const dir = tempDir('ids');
    const a = new Outbox({ dir, sink, logger: silentLogger });
    await a.ready();
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{21}$/);
    expect(readFileSync(join(dir, 'OUTBOX'), 'utf8')).toBe(`${a.id}\n`);
    await a.close();
    const b = new Outbox({ dir, sink, logger: silentLogger });
    await b.ready();
    expect(b.id).toBe(a.id);
    await b.close();
    const c = new Outbox({ dir, sink, id: 'other', logger: silentLogger });
    await expect(c.ready()).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(c.ready()).rejects.toMatchObject({ option: 'id' });
    const named = new Outbox({ dir: tempDir('ids'), sink, id: 'orders-1', logger: silentLogger });
    expect((await named.send('x')).id).toBe('orders-1:0');
    await named.close();
  });

  it('an OUTBOX or SEQ file it never wrote makes the open fail with OutboxFileError', async () => {
    const { sink } = redisSink();
    for (const [file, text] of [
      ['OUTBOX', 'not an id!\n'],
      ['SEQ', 'twelve\n'],
    ] as const) {
      const dir = tempDir('ids');
      writeFileSync(join(dir, file), text);
      const outbox = new Outbox({ dir, sink, mode: 'direct-first', logger: silentLogger });
      await expect(outbox.ready()).rejects.toBeInstanceOf(OutboxFileError);
      await expect(outbox.ready()).rejects.toMatchObject({ code: 'Q_OUTBOX_FILE', file: join(dir, file) });
    }
  });

  it('write-ahead without a SEQ file: the seq is the log seq', async () => {
    const { sink } = redisSink();
    const outbox = new Outbox({ dir: tempDir('ids'), sink, logger: silentLogger });
    const seqs = [];
    for (let i = 0; i < 5; i++) seqs.push((await outbox.send(`m${i}`)).seq);
    expect(seqs).toEqual([0, 1, 2, 3, 4]);
    await outbox.close();
  });

  it('switching modes across restarts never hands out a lower seq: direct-first, write-ahead, direct-first', async () => {
    const { sink, redis, key, highWaterKey } = redisSink();
    const dir = tempDir('ids');
    const all: { body: string; seq: number }[] = [];
    for (const [run, mode] of (['direct-first', 'write-ahead', 'direct-first', 'write-ahead'] as const).entries()) {
      const outbox = new Outbox({ dir, sink, mode, logger: silentLogger });
      for (let i = 0; i < 50; i++) all.push({ body: `r${run}-${i}`, seq: (await outbox.send(`r${run}-${i}`)).seq });
      await until(() => outbox.stats().backlogMessages === 0, 10_000, 'forwarded');
      await outbox.close();
    }
    for (let i = 1; i < all.length; i++) expect(all[i]?.seq as number).toBeGreaterThan(all[i - 1]?.seq as number);
    expect(readFileSync(join(dir, 'SEQ'), 'utf8')).toMatch(/^\d+\n$/);
    // Every message reached Redis (a reused lower seq would have been dropped by the high-water mark).
    await until(async () => (await redis.llen(key)) === all.length, 10_000, 'all in redis');
    const seen = counts(await listBodies(redis, key));
    for (const { body } of all) expect(seen.get(body), body).toBe(1);
    const outboxId = readFileSync(join(dir, 'OUTBOX'), 'utf8').trim();
    expect(Number(await redis.hget(highWaterKey, outboxId))).toBe(all[all.length - 1]?.seq);
    // Once a SEQ file exists, write-ahead records carry their seq in q-outbox-seq.
    const log = await openLog({ dir, logger: silentLogger });
    const [last] = await log.read(log.nextSeq - 1, { max: 1 });
    await log.close();
    expect(last?.headers['q-outbox-seq']).toBe(String(all[all.length - 1]?.seq));
  });
});

describe('idempotency keys', () => {
  it('a second send with a key still remembered stores nothing and gets the earlier id', async () => {
    const { sink, redis, key } = redisSink();
    const outbox = new Outbox({ dir: tempDir('idem'), sink, logger: silentLogger, idempotencyWindow: 3 });
    const first = await outbox.send('one', { idempotencyKey: 'k1' });
    const again = await outbox.send('one, retried', { idempotencyKey: 'k1' });
    expect(first.duplicate).toBe(false);
    expect(again).toEqual({ ...first, duplicate: true });
    // Concurrent sends with one key: one is stored.
    const both = await Promise.all([
      outbox.send('two', { idempotencyKey: 'k2' }),
      outbox.send('two', { idempotencyKey: 'k2' }),
    ]);
    expect(both[0].id).toBe(both[1].id);
    expect(both.map((r) => r.duplicate).sort()).toEqual([false, true]);
    // A key twice in one batch: the second is a duplicate of the first.
    const batch = await outbox.sendBatch([
      { body: 'three', idempotencyKey: 'k3' },
      { body: 'three', idempotencyKey: 'k3' },
      { body: 'one again', idempotencyKey: 'k1' },
    ]);
    expect(batch[1]).toEqual({ ...batch[0], duplicate: true });
    expect(batch[2]).toEqual({ ...first, duplicate: true });
    // Beyond the window (3 keys) the oldest is forgotten.
    await outbox.send('four', { idempotencyKey: 'k4' });
    expect((await outbox.send('one, much later', { idempotencyKey: 'k1' })).duplicate).toBe(false);
    expect(outbox.stats().duplicatesSuppressed).toBe(4);
    await until(async () => (await redis.llen(key)) === 5, 10_000, 'stored ones in redis');
    await outbox.close();
    expect(await listBodies(redis, key)).toEqual(['one', 'two', 'three', 'four', 'one, much later']);
  });

  it('the keys of the records still in the log are remembered across a restart', async () => {
    const { sink } = redisSink();
    const dir = tempDir('idem');
    const a = new Outbox({ dir, sink, logger: silentLogger });
    const first = await a.send('x', { idempotencyKey: 'order-42' });
    await a.close();
    const b = new Outbox({ dir, sink, logger: silentLogger });
    expect(await b.send('x', { idempotencyKey: 'order-42' })).toEqual({ ...first, duplicate: true });
    await b.close();
  });
});
