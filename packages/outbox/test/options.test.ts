import { InvalidOptionError } from '@q/core';
import { describe, expect, it } from 'vitest';
import { Outbox, type OutboxOptions } from '../src/index.js';
import { redisSink, silentLogger, tempDir } from './support/fixtures.js';

const { sink } = redisSink();
const base = (): OutboxOptions => ({ dir: tempDir('options'), sink, logger: silentLogger });

describe('bad options throw InvalidOptionError naming the option', () => {
  const bad: [string, Partial<Record<keyof OutboxOptions, unknown>>][] = [
    ['dir', { dir: '' }],
    ['sink', { sink: {} }],
    ['sink', { sink: null }],
    ['id', { id: 'has:colon' }],
    ['id', { id: '' }],
    ['mode', { mode: 'fast' }],
    ['sync', { sync: 'sometimes' }],
    ['sync.intervalMs', { sync: { intervalMs: 0 } }],
    ['maxBytes', { maxBytes: 1000 }],
    ['maxBytes', { maxBytes: -1 }],
    ['whenFull', { whenFull: 'drop' }],
    ['segmentBytes', { segmentBytes: 10 }],
    ['maxRecordBytes', { maxRecordBytes: -1 }],
    ['batchMessages', { batchMessages: 0 }],
    ['batchBytes', { batchBytes: 0.5 }],
    ['lingerMs', { lingerMs: -1 }],
    ['lingerMs', { lingerMs: 1001 }],
    ['lingerMs', { lingerMs: '5' }],
    ['directTimeoutMs', { directTimeoutMs: 0 }],
    ['maxDirectBacklog', { maxDirectBacklog: 0 }],
    ['retry', { retry: 5 }],
    ['retry.attempts', { retry: { attempts: 3 } }],
    ['retry.minDelayMs', { retry: { minDelayMs: -1 } }],
    ['retry.factor', { retry: { factor: 0.5 } }],
    ['retry.jitter', { retry: { jitter: 'yes' } }],
    ['isPermanent', { isPermanent: true }],
    ['idempotencyWindow', { idempotencyWindow: -1 }],
    ['logger', { logger: 'console' }],
  ];
  for (const [option, patch] of bad) {
    it(`${option}: ${JSON.stringify(Object.values(patch)[0]) ?? String(Object.values(patch)[0])}`, () => {
      const make = () => new Outbox({ ...base(), ...patch } as OutboxOptions);
      expect(make).toThrow(InvalidOptionError);
      expect(make).toThrow(expect.objectContaining({ option, code: 'Q_INVALID_OPTION' }));
    });
  }

  it('no options object at all', () => {
    expect(() => new Outbox(undefined as unknown as OutboxOptions)).toThrow(
      expect.objectContaining({ option: 'options' }),
    );
  });

  it('retry.attempts: Infinity is the one value allowed', async () => {
    const outbox = new Outbox({ ...base(), retry: { attempts: Number.POSITIVE_INFINITY } });
    await outbox.close();
  });

  it('bad send arguments reject with InvalidOptionError naming them; nothing is stored', async () => {
    const outbox = new Outbox(base());
    await expect(outbox.send(42 as unknown as string)).rejects.toMatchObject({ option: 'body' });
    await expect(outbox.send('x', { key: 7 as unknown as string })).rejects.toMatchObject({ option: 'key' });
    await expect(outbox.send('x', { headers: { a: 1 as unknown as string } })).rejects.toMatchObject({
      option: 'headers.a',
    });
    await expect(outbox.send('x', { headers: { 'q-outbox-id': 'a:1' } })).rejects.toMatchObject({
      option: 'headers.q-outbox-id',
    });
    await expect(outbox.send('x', { idempotencyKey: '' })).rejects.toMatchObject({ option: 'idempotencyKey' });
    await expect(outbox.send('x', { signal: 'stop' as unknown as AbortSignal })).rejects.toMatchObject({
      option: 'signal',
    });
    await expect(outbox.sendBatch('x' as unknown as [])).rejects.toMatchObject({ option: 'items' });
    await expect(outbox.sendBatch([{ body: 'ok' }, { body: null as unknown as string }])).rejects.toMatchObject({
      option: 'items[1].body',
    });
    await expect(outbox.close({ timeoutMs: -1 })).rejects.toMatchObject({ option: 'timeoutMs' });
    await outbox.ready();
    expect(outbox.stats().accepted).toBe(0);
    await outbox.close();
  });

  it('a body larger than maxRecordBytes rejects with RecordTooLargeError in both modes', async () => {
    for (const mode of ['write-ahead', 'direct-first'] as const) {
      const outbox = new Outbox({ ...base(), mode, maxRecordBytes: 1000 });
      await expect(outbox.send('x'.repeat(1001))).rejects.toMatchObject({ code: 'Q_LOG_RECORD_TOO_LARGE' });
      await outbox.close();
    }
  });
});
