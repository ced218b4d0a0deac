// outbox-push-2.lua, form 'm': the script checks only that cmsgpack.unpack gave a table whose length
// is the run's count. It does not check that the elements are strings, nor that the argument holds
// nothing after the array. A packed run with a non-string element is so "checked" and fails only at
// its RPUSH, after earlier runs (or earlier 4000-body slices) were pushed and before any mark was
// written: a half-stored call, and the retry stores the first part again.
import { describe, expect, it } from 'vitest';
import { withScripts } from '../src/scripts.js';
import { client, uniqueKey } from './support/clients.js';
import { packed } from './support/packed.js';

/** The error text of a call, or the reply when it did not fail. */
const outcome = (call: Promise<unknown>): Promise<unknown> =>
  call.then(
    (reply) => ({ reply }),
    (error: unknown) => String(error),
  );

describe('outbox-push-2.lua: malformed packed runs', () => {
  it('a packed element that is not a string is refused before anything is written (a retry then adds nothing twice)', async () => {
    const redis = withScripts(client());
    const key = uniqueKey('rh-dedupe');
    const hwm = uniqueKey('rh-hwm');
    // MessagePack ['y', ['z']]: an array of 2 whose second element is an array, not a string.
    const nested = Buffer.from([0x92, 0xa1, 0x79, 0x91, 0xa1, 0x7a]);
    const error = await outcome(redis.qOutboxPush(key, hwm, ['a', '1', '1', 'a', 'a-1', 'b', '1', '2', 'm', nested]));
    const afterRefusal = { list: await redis.lrange(key, 0, -1), marks: await redis.hgetall(hwm) };
    // The caller retries with the batch as it should have been: a-1 must be there once.
    const good = packed([Buffer.from('y'), Buffer.from('z')]);
    await redis.qOutboxPush(key, hwm, ['a', '1', '1', 'a', 'a-1', 'b', '1', '2', 'm', good]);
    expect({ error, afterRefusal, afterRetry: await redis.lrange(key, 0, -1) }).toEqual({
      // Refused as malformed, and nothing written by the refused call.
      error: expect.stringMatching(/malformed run at argument 6/),
      afterRefusal: { list: [], marks: {} },
      afterRetry: ['a-1', 'y', 'z'],
    });
  });

  it('a packed run whose bad element is past the first 4000-body slice writes nothing either', async () => {
    const redis = withScripts(client());
    const key = uniqueKey('rh-dedupe');
    const hwm = uniqueKey('rh-hwm');
    const good = packed(Array.from({ length: 4001 }, (_, i) => Buffer.from(`b${i}`)));
    // Replace the array header's count with 4002 and append `true` (0xc3): 4001 strings, then a boolean.
    const bad = Buffer.concat([good, Buffer.from([0xc3])]);
    bad.writeUInt32BE(4002, 1);
    const error = await outcome(redis.qOutboxPush(key, hwm, ['a', '0', '4001', 'm', bad]));
    expect({ error, length: await redis.llen(key), marks: await redis.hgetall(hwm) }).toEqual({
      error: expect.stringMatching(/malformed run/),
      length: 0,
      marks: {},
    });
  });

  it('a packed run of numbers, or an argument with a second array after the first, is refused', async () => {
    const redis = withScripts(client());
    const key = uniqueKey('rh-dedupe');
    const hwm = uniqueKey('rh-hwm');
    // MessagePack [1, 1.5]: numbers, not strings.
    const numbers = Buffer.from([0x92, 0x01, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]);
    const numbersError = await outcome(redis.qOutboxPush(key, hwm, ['a', '1', '2', 'm', numbers]));
    // Two arrays in one argument for a run of one: the second body would be dropped silently.
    const twice = Buffer.concat([packed([Buffer.from('x')]), packed([Buffer.from('y')])]);
    const twiceError = await outcome(redis.qOutboxPush(key, hwm, ['c', '1', '1', 'm', twice]));
    expect({ numbersError, twiceError, list: await redis.lrange(key, 0, -1), marks: await redis.hgetall(hwm) }).toEqual(
      {
        numbersError: expect.stringMatching(/malformed run/),
        twiceError: expect.stringMatching(/malformed run/),
        list: [],
        marks: {},
      },
    );
  });
});
