import { InvalidOptionError } from '@q/core';
import { ENVELOPE_MAGIC, isEnveloped, RedisListPusher, unwrapEnvelope, wrapEnvelope } from '@q/redis';
import { describe, expect, it } from 'vitest';
import { client, uniqueKey } from './support/clients.js';

const trace = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'q=1' };

describe('envelope codec', () => {
  it('round-trips string and Buffer bodies with their headers', () => {
    const s = wrapEnvelope('{"order":1}\nsecond line', trace);
    expect(typeof s).toBe('string');
    expect(s.startsWith(ENVELOPE_MAGIC)).toBe(true);
    expect(unwrapEnvelope(s)).toEqual({ body: '{"order":1}\nsecond line', headers: trace });

    const bytes = Buffer.from([0, 1, 2, 0x0a, 255, 254]);
    const b = wrapEnvelope(bytes, trace);
    expect(Buffer.isBuffer(b)).toBe(true);
    const opened = unwrapEnvelope(b);
    expect(opened.headers).toEqual(trace);
    expect(Buffer.compare(opened.body, bytes)).toBe(0);
  });

  it('header values with newlines, quotes and non-ASCII survive', () => {
    const headers = { 'x-note': 'a\nb "c" ü 🚀', '': 'empty name' };
    expect(unwrapEnvelope(wrapEnvelope('body', headers)).headers).toEqual(headers);
    expect(unwrapEnvelope(wrapEnvelope(Buffer.from('body'), headers)).headers).toEqual(headers);
  });

  it('leaves bodies without headers bare, and returns bare bodies unchanged', () => {
    expect(wrapEnvelope('plain', {})).toBe('plain');
    const raw = Buffer.from('plain');
    expect(wrapEnvelope(raw, {})).toBe(raw);
    expect(unwrapEnvelope('plain')).toEqual({ body: 'plain', headers: {} });
    expect(unwrapEnvelope(raw).body).toBe(raw);
    expect(unwrapEnvelope('')).toEqual({ body: '', headers: {} });
    expect(isEnveloped('plain')).toBe(false);
  });

  it('a body that starts with the magic is always enveloped, so it comes back intact', () => {
    const tricky = `${ENVELOPE_MAGIC}{"not":"headers"}\nrest`;
    const wrapped = wrapEnvelope(tricky, {});
    expect(wrapped).not.toBe(tricky);
    expect(unwrapEnvelope(wrapped)).toEqual({ body: tricky, headers: {} });
    const trickyBytes = Buffer.from(tricky);
    expect(Buffer.compare(unwrapEnvelope(wrapEnvelope(trickyBytes, {})).body, trickyBytes)).toBe(0);
  });

  it('malformed envelopes are returned unchanged with no headers', () => {
    for (const body of [
      ENVELOPE_MAGIC,
      `${ENVELOPE_MAGIC}no newline`,
      `${ENVELOPE_MAGIC}not json\nbody`,
      `${ENVELOPE_MAGIC}[1,2]\nbody`,
      `${ENVELOPE_MAGIC}{"n":1}\nbody`,
      `${ENVELOPE_MAGIC}null\nbody`,
    ]) {
      expect(unwrapEnvelope(body)).toEqual({ body, headers: {} });
      expect(unwrapEnvelope(Buffer.from(body)).headers).toEqual({});
    }
  });

  it('refuses headers that are not an object of strings', () => {
    expect(() => wrapEnvelope('b', null as never)).toThrow(InvalidOptionError);
    expect(() => wrapEnvelope('b', ['x'] as never)).toThrow(/headers/);
    expect(() => wrapEnvelope('b', { traceparent: 1 } as never)).toThrow(/headers\.traceparent/);
  });

  it('enveloped and bare bodies share a real Redis list, as strings and as bytes', async () => {
    const redis = client();
    const key = uniqueKey('envelope');
    const pusher = new RedisListPusher({ redis, key, flushIntervalMs: 5 });
    const binary = Buffer.from([0, 0x0a, 0xff, 0x80, 0x71]);
    await pusher.pushAndConfirm(wrapEnvelope('one', trace));
    await pusher.pushAndConfirm('two');
    await pusher.pushAndConfirm(wrapEnvelope(binary, { traceparent: trace.traceparent }));
    await pusher.close();
    const [one, two] = (await redis.lrange(key, 0, 1)).map((b) => unwrapEnvelope(b));
    expect(one).toEqual({ body: 'one', headers: trace });
    expect(two).toEqual({ body: 'two', headers: {} });
    const [third] = await redis.lrangeBuffer(key, 2, 2);
    const opened = unwrapEnvelope(third as Buffer);
    expect(opened.headers).toEqual({ traceparent: trace.traceparent });
    expect(Buffer.compare(opened.body, binary)).toBe(0);
    expect(await redis.llen(key)).toBe(3);
    await redis.del(key);
  });
});
