import { join } from 'node:path';
import { InvalidOptionError } from '@q/core';
import { type LogRecord, openLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpDeliverer, type HttpDelivererOptions } from '../src/deliverer/http-deliverer.js';
import { recordToItem } from '../src/deliverer/record-item.js';
import { tempDir } from './deliverer-target.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const record = (headers: Record<string, string>, seq = 7): LogRecord => ({
  seq,
  timestamp: 1_700_000_000_000,
  headers,
  body: Buffer.from('{"a":1}'),
});

describe('recordToItem', () => {
  it('maps q-url, q-key, q-id, q-content-type, traceparent and q-h-* headers', () => {
    const r = record({
      'q-url': 'http://example.test/hook',
      'q-key': 'order-1',
      'q-id': 'evt_123',
      'q-content-type': 'text/plain',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      'q-h-x-tenant': 'acme',
      'q-h-content-type': 'overridden',
      'other-header': 'not sent',
      'q-h-': 'empty name, not sent',
    });
    const item = recordToItem(r, { idPrefix: 'q', url: 'http://default.test/' });
    expect(item).toEqual({
      id: 'evt_123',
      url: 'http://example.test/hook',
      body: Buffer.from('{"a":1}'),
      key: 'order-1',
      headers: {
        'content-type': 'text/plain',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        'x-tenant': 'acme',
      },
      acceptedAt: 1_700_000_000_000,
      seq: 7,
    });
    // The body is a copy, apart from the buffer the record was read into.
    r.body[0] = 0x20;
    expect(item.body.toString()).toBe('{"a":1}');
  });

  it('falls back to options.url and <idPrefix>_<seq>; urlOf and keyOf override the headers', () => {
    const plain = recordToItem(record({}, 42), { idPrefix: 'orders', url: 'http://default.test/' });
    expect(plain).toMatchObject({ id: 'orders_42', url: 'http://default.test/', key: undefined, headers: undefined });
    expect(recordToItem(record({}, 1), { idPrefix: 'q' }).url).toBe('');
    const over = recordToItem(record({ 'q-url': 'http://a.test/', 'q-key': 'k' }), {
      idPrefix: 'q',
      urlOf: () => 'http://b.test/',
      keyOf: () => undefined,
    });
    expect(over).toMatchObject({ url: 'http://b.test/', key: undefined });
    const fallback = recordToItem(record({ 'q-url': 'http://a.test/' }), { idPrefix: 'q', urlOf: () => undefined });
    expect(fallback.url).toBe('http://a.test/');
  });
});

describe('HttpDeliverer options', () => {
  it('refuses invalid options with InvalidOptionError naming the option', async () => {
    const tmp = await tempDir('q-http-options-');
    cleanups.push(() => tmp.remove());
    const log = await openLog({ dir: join(tmp.dir, 'log') });
    cleanups.push(() => log.close());
    const base: HttpDelivererOptions = { log, deadLetterDir: join(tmp.dir, 'dl') };
    const bad: Array<[string, Partial<HttpDelivererOptions> | Record<string, unknown>]> = [
      ['log', { log: {} }],
      ['cursor', { cursor: 'a b' }],
      ['cursor', { cursor: 'replay-3' }],
      ['url', { url: 'ftp://x/' }],
      ['url', { url: 'not a url' }],
      ['idPrefix', { idPrefix: 'a.b' }],
      ['idPrefix', { idPrefix: '' }],
      ['maxUnfinished', { maxUnfinished: 0 }],
      ['maxUnfinished', { maxUnfinished: 1.5 }],
      ['commitIntervalMs', { commitIntervalMs: -1 }],
      ['urlOf', { urlOf: 'x' }],
      ['keyOf', { keyOf: 1 }],
      ['deadLetterDir', { deadLetterDir: undefined }],
      ['engine', { engine: 'x' }],
    ];
    for (const [name, patch] of bad) {
      const err = (() => {
        try {
          new HttpDeliverer({ ...base, ...patch } as HttpDelivererOptions);
        } catch (e) {
          return e;
        }
      })();
      expect(err, name).toBeInstanceOf(InvalidOptionError);
      expect((err as InvalidOptionError).message).toContain(name);
    }
    // Engine options are checked when the engine is made (start), after the dead letters opened.
    const d = new HttpDeliverer({ ...base, engine: { concurrency: 0 } });
    await expect(d.start()).rejects.toBeInstanceOf(InvalidOptionError);
    await d.close();
  });

  it('engine and deadLetters before start() throw; start() after close() rejects; close() is idempotent', async () => {
    const tmp = await tempDir('q-http-lifecycle-');
    cleanups.push(() => tmp.remove());
    const log = await openLog({ dir: join(tmp.dir, 'log') });
    cleanups.push(() => log.close());
    const d = new HttpDeliverer({ log, deadLetterDir: join(tmp.dir, 'dl'), url: 'http://127.0.0.1:9/' });
    expect(() => d.engine).toThrow(/start/);
    expect(() => d.deadLetters).toThrow(/start/);
    expect(d.stats()).toMatchObject({ cursor: 0, unfinished: 0, delivered: 0, endpoints: [], deadLetters: 0 });
    await d.start();
    expect(d.engine).toBeDefined();
    expect(d.deadLetters.count).toBe(0);
    await Promise.all([d.close(), d.close()]);
    await expect(d.start()).resolves.toBeUndefined();
    const late = new HttpDeliverer({ log, deadLetterDir: join(tmp.dir, 'dl2') });
    await late.close();
    await expect(late.start()).rejects.toMatchObject({ code: 'Q_HTTP_CLOSED' });
  });
});
