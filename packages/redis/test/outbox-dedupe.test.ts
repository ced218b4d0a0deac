import { inspect } from 'node:util';
import { InvalidOptionError, OUTBOX_ID_HEADER, silentLogger } from '@q/core';
import { InvalidMessageError, InvalidOutboxIdError, queueKeys, RedisListPusher } from '@q/redis';
import { describe, expect, it } from 'vitest';
import { withScripts } from '../src/scripts.js';
import { client, uniqueKey } from './support/clients.js';
import { packed } from './support/packed.js';

/** A message as `@q/outbox` hands it to its sink: the body, and its id in the header. */
const msg = (outbox: string, seq: number | string, body = `${outbox}-${seq}`) => ({
  body,
  headers: { [OUTBOX_ID_HEADER]: `${outbox}:${seq}` },
});
const range = (outbox: string, from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => msg(outbox, from + i));
const bodies = (outbox: string, from: number, to: number) => range(outbox, from, to).map((m) => m.body);

function dedupePusher(key: string, options: { highWaterKey?: string; flushIntervalMs?: number } = {}) {
  return new RedisListPusher({ redis: client(), key, dedupe: 'outbox-id', logger: silentLogger, ...options });
}

describe("RedisListPusher dedupe: 'outbox-id'", () => {
  it('a replayed batch adds nothing; its messages count as skipped duplicates', async () => {
    const redis = client();
    const key = uniqueKey('dedupe');
    const pusher = dedupePusher(key);
    await pusher.pushBatch(range('ob', 1, 5));
    expect(pusher.stats()).toMatchObject({ written: 5, duplicatesSkipped: 0 });
    await pusher.pushBatch(range('ob', 1, 5));
    expect(await redis.lrange(key, 0, -1)).toEqual(bodies('ob', 1, 5));
    expect(pusher.stats()).toMatchObject({ written: 5, duplicatesSkipped: 5 });
    expect(await redis.hget(queueKeys(key).outboxHighWater, 'ob')).toBe('5');
    await pusher.close();
  });

  it('a batch whose first half was pushed pushes only the rest', async () => {
    const redis = client();
    const key = uniqueKey('dedupe');
    const pusher = dedupePusher(key);
    await pusher.pushBatch(range('ob', 0, 4));
    await pusher.pushBatch(range('ob', 0, 9));
    expect(await redis.lrange(key, 0, -1)).toEqual(bodies('ob', 0, 9));
    expect(pusher.stats()).toMatchObject({ written: 10, duplicatesSkipped: 5 });
    await pusher.close();
  });

  it('two outboxes interleaved: each has its own mark', async () => {
    const redis = client();
    const key = uniqueKey('dedupe');
    const pusher = dedupePusher(key);
    await pusher.pushBatch([msg('a', 1), msg('b', 7), msg('a', 2), msg('b', 8)]);
    // a:2 and b:8 are old; a:3 is new, b:5 is below b's mark even though a's mark is lower.
    await pusher.pushBatch([msg('b', 8), msg('a', 2), msg('a', 3), msg('b', 5), msg('b', 9)]);
    expect(await redis.lrange(key, 0, -1)).toEqual(['a-1', 'b-7', 'a-2', 'b-8', 'a-3', 'b-9']);
    expect(await redis.hgetall(queueKeys(key).outboxHighWater)).toEqual({ a: '3', b: '9' });
    expect(pusher.stats().duplicatesSkipped).toBe(3);
    await pusher.close();
  });

  it('within one batch a repeated or lower sequence after a higher one is skipped: a lower id never lands after a higher one', async () => {
    const redis = client();
    const key = uniqueKey('dedupe');
    const pusher = dedupePusher(key);
    await pusher.pushBatch([msg('a', 5), msg('a', 5, 'again'), msg('a', 3), msg('a', 6)]);
    expect(await redis.lrange(key, 0, -1)).toEqual(['a-5', 'a-6']);
    await pusher.close();
  });

  it('sequences up to 2^53-1 compare exactly, and the mark is stored as sent', async () => {
    const redis = client();
    const key = uniqueKey('dedupe');
    const pusher = dedupePusher(key);
    const max = Number.MAX_SAFE_INTEGER; // 9007199254740991
    await pusher.pushBatch([msg('big', max - 2), msg('big', max - 1)]);
    // max - 1 and max differ only in the last bit of a double: a lossy comparison would skip max.
    await pusher.pushBatch([msg('big', max - 1), msg('big', max)]);
    await pusher.pushBatch([msg('big', max)]);
    expect(await redis.lrange(key, 0, -1)).toEqual([`big-${max - 2}`, `big-${max - 1}`, `big-${max}`]);
    expect(await redis.hget(queueKeys(key).outboxHighWater, 'big')).toBe('9007199254740991');
    // 2^53 is not a safe integer: parseOutboxId refuses it, so it is no id.
    await expect(pusher.pushBatch([msg('big', '9007199254740992')])).rejects.toBeInstanceOf(InvalidOutboxIdError);
    // 0 is a sequence, and it is above "no mark".
    await pusher.pushBatch([msg('zero', 0), msg('zero', 0)]);
    expect(await redis.lrange(key, 3, -1)).toEqual(['zero-0']);
    await pusher.close();
  });

  it('messages without a valid id are refused with a typed error, and nothing of their batch is stored', async () => {
    const redis = client();
    const key = uniqueKey('dedupe');
    const pusher = dedupePusher(key);
    const bad: unknown[] = [
      'a string',
      Buffer.from('a buffer'),
      { body: 'no headers' },
      { body: 'other headers', headers: { other: 'x' } },
      { body: 'not an id', headers: { [OUTBOX_ID_HEADER]: 'no-colon' } },
      { body: 'negative', headers: { [OUTBOX_ID_HEADER]: 'ob:-1' } },
      { body: 'leading zero', headers: { [OUTBOX_ID_HEADER]: 'ob:01' } },
      { body: 'bad outbox', headers: { [OUTBOX_ID_HEADER]: 'o b:1' } },
    ];
    for (const message of bad) {
      const error = await pusher.pushBatch([msg('ob', 1), message as never, msg('ob', 2)]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidOutboxIdError);
      expect((error as InvalidOutboxIdError).code).toBe('Q_INVALID_OUTBOX_ID');
      expect((error as InvalidOutboxIdError).index).toBe(1);
      expect((error as InvalidOutboxIdError).value).toBe(message);
      // The message is not logged through the error (not enumerable).
      expect(inspect(error)).not.toMatch(/a string|no headers|not an id|leading zero/);
      await expect(pusher.push(message as never)).rejects.toBeInstanceOf(InvalidOutboxIdError);
      await expect(pusher.pushAndConfirm(message as never)).rejects.toBeInstanceOf(InvalidOutboxIdError);
    }
    // Not a message at all: the older error, still before anything is written.
    await expect(pusher.pushBatch([msg('ob', 1), 42 as never])).rejects.toBeInstanceOf(InvalidMessageError);
    // A Buffer header is read as its text.
    await pusher.pushBatch([{ body: 'buffer id', headers: { [OUTBOX_ID_HEADER]: Buffer.from('ob:9') } }]);
    await pusher.close();
    expect(await redis.lrange(key, 0, -1)).toEqual(['buffer id']);
    expect(await redis.hgetall(queueKeys(key).outboxHighWater)).toEqual({ ob: '9' });
  });

  it('options: concurrency above 1, an unknown dedupe, a highWaterKey without dedupe or equal to key are refused', () => {
    const redis = client();
    const optionOf = (options: object): string | undefined => {
      try {
        new RedisListPusher({ redis, key: 'k', ...options });
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidOptionError);
        return (error as InvalidOptionError).option;
      }
      return undefined;
    };
    expect(optionOf({ dedupe: 'outbox-id', concurrency: 2 })).toBe('concurrency');
    expect(optionOf({ dedupe: 'outbox-id', concurrency: 0 })).toBe('concurrency');
    expect(optionOf({ dedupe: 'id' })).toBe('dedupe');
    expect(optionOf({ highWaterKey: 'h' })).toBe('highWaterKey');
    expect(optionOf({ dedupe: 'outbox-id', highWaterKey: 'k' })).toBe('highWaterKey');
    expect(optionOf({ dedupe: 'outbox-id', highWaterKey: '' })).toBe('highWaterKey');
    // No tag but a "}": no derived key shares its slot, so the hash must be named.
    expect(optionOf({ key: 'jobs}', dedupe: 'outbox-id' })).toBe('highWaterKey');
    expect(optionOf({ key: 'jobs}', dedupe: 'outbox-id', highWaterKey: '{jobs}}:hwm' })).toBeUndefined();
    // Without dedupe, concurrency stays free.
    expect(optionOf({ concurrency: 4 })).toBeUndefined();
    expect(optionOf({ onError: 'log it' })).toBe('onError');
    expect(optionOf({ dedupe: 'outbox-id', concurrency: 1 })).toBeUndefined();
  });

  it('a forwarder that crashed between the push and its cursor commit pushes the batch again: the list holds each message once', async () => {
    const redis = client();
    const key = uniqueKey('dedupe');
    const hwm = uniqueKey('hwm');
    const batch = range('orders', 100, 149);
    // First life: pushed, then the process died before committing its cursor.
    const firstClient = client();
    const first = new RedisListPusher({ redis: firstClient, key, dedupe: 'outbox-id', highWaterKey: hwm });
    await first.pushBatch(batch);
    firstClient.disconnect(); // dropped without a goodbye, as a killed process leaves it
    // Second life: a new client and pusher, the cursor still before the batch, so the same batch
    // again, and then what comes after it.
    const second = new RedisListPusher({ redis: client(), key, dedupe: 'outbox-id', highWaterKey: hwm });
    await second.pushBatch(batch);
    await second.pushBatch(range('orders', 150, 159));
    await first.close();
    await second.close();
    expect(await redis.lrange(key, 0, -1)).toEqual(bodies('orders', 100, 159));
    expect(second.stats()).toMatchObject({ written: 10, duplicatesSkipped: 50 });
    expect(await redis.hget(hwm, 'orders')).toBe('159');
  });

  it('push and pushAndConfirm are de-duplicated too, and stay in order with pushBatch', async () => {
    const redis = client();
    const key = uniqueKey('dedupe');
    const pusher = dedupePusher(key, { flushIntervalMs: 60_000 });
    await pusher.push(msg('p', 1));
    const confirmed = pusher.pushAndConfirm(msg('p', 2));
    // Buffered before the batch, so written before it (or with it), never after.
    await pusher.pushBatch([msg('p', 2), msg('p', 3)]);
    await confirmed;
    const late = pusher.pushAndConfirm(msg('p', 3));
    await pusher.flush();
    await late;
    await pusher.close();
    expect(await redis.lrange(key, 0, -1)).toEqual(['p-1', 'p-2', 'p-3']);
    expect(pusher.stats()).toMatchObject({ written: 3, duplicatesSkipped: 2 });
  });

  it('more than unpack can take in one call (20,000 messages, three outboxes) goes in one script call, in order', async () => {
    const redis = client();
    const key = uniqueKey('dedupe');
    const pusher = dedupePusher(key);
    const batch = Array.from({ length: 20_000 }, (_, i) => msg(`o${i % 3}`, Math.floor(i / 3), String(i)));
    await pusher.pushBatch(batch);
    await pusher.pushBatch(batch);
    const list = await redis.lrange(key, 0, -1);
    expect(list).toHaveLength(20_000);
    expect(list.every((body, i) => body === String(i))).toBe(true);
    expect(pusher.stats()).toMatchObject({ written: 20_000, duplicatesSkipped: 20_000 });
    await pusher.close();
  });

  it('a failed write (the list is not a list) rejects without bodies and stores no mark', async () => {
    const redis = client();
    const key = uniqueKey('dedupe');
    await redis.set(key, 'not a list');
    const failures: number[] = [];
    const pusher = new RedisListPusher({
      redis,
      key,
      dedupe: 'outbox-id',
      onError: (_e, messages) => failures.push(messages.length),
    });
    const error = await pusher.pushBatch([msg('s', 1, 'SECRET-BODY'), msg('s', 2, 'SECRET-BODY')]).catch((e) => e);
    expect((error as Error).message).toMatch(/WRONGTYPE/);
    expect(inspect(error, { depth: 5 })).not.toMatch(/SECRET-BODY/);
    expect(failures).toEqual([2]);
    expect(await redis.exists(queueKeys(key).outboxHighWater)).toBe(0);
    // A mark that is not a number fails before anything is written.
    const other = uniqueKey('dedupe');
    await redis.hset(queueKeys(other).outboxHighWater, 's', 'garbage');
    const again = new RedisListPusher({ redis, key: other, dedupe: 'outbox-id', logger: silentLogger });
    await expect(again.pushBatch([msg('s', 1)])).rejects.toThrow(/high-water mark of s is not a number/);
    expect(await redis.exists(other)).toBe(0);
    await pusher.close();
    await again.close();
  });

  it('the script refuses a malformed run before writing anything', async () => {
    const redis = withScripts(client());
    const key = uniqueKey('dedupe');
    const hwm = uniqueKey('hwm');
    // A run of a first part that was fine, then one claiming 3 bodies with 2 given.
    await expect(redis.qOutboxPush(key, hwm, ['a', '1', '1', 'a', 'x', 'b', '1', '3', 'a', 'y', 'z'])).rejects.toThrow(
      /malformed run at argument 6/,
    );
    await expect(redis.qOutboxPush(key, hwm, ['a', 'one', '1', 'a', 'x'])).rejects.toThrow(/malformed run/);
    await expect(redis.qOutboxPush(key, hwm, ['a', '2', '1', 'a', 'x'])).rejects.toThrow(/malformed run/);
    // No form, an unknown one, packed bodies that are not MessagePack or not as many as the run claims.
    await expect(redis.qOutboxPush(key, hwm, ['a', '1', '1', 'x'])).rejects.toThrow(/malformed run at argument 1/);
    await expect(redis.qOutboxPush(key, hwm, ['a', '1', '1', 'z', 'x'])).rejects.toThrow(/malformed run/);
    await expect(redis.qOutboxPush(key, hwm, ['a', '1', '1', 'm', Buffer.from([0xc1])])).rejects.toThrow(
      /malformed run/,
    );
    await expect(redis.qOutboxPush(key, hwm, ['a', '1', '2', 'm', packed(['x'])])).rejects.toThrow(/malformed run/);
    await expect(redis.qOutboxPush(key, hwm, ['a', '1', '1', 'm'])).rejects.toThrow(/malformed run/);
    expect(await redis.exists(key, hwm)).toBe(0);
    // Well formed: runs of one outbox, a later one overlapping the first, in both forms.
    expect(
      await redis.qOutboxPush(key, hwm, ['a', '1', '2', 'a', 'a1', 'a2', 'a', '2', '3', 'm', packed(['a2', 'a3'])]),
    ).toEqual([3, 1]);
    expect(await redis.lrange(key, 0, -1)).toEqual(['a1', 'a2', 'a3']);
  });

  it('bodies go packed or one argument each by their size, byte for byte either way, in order', async () => {
    const redis = client();
    const key = uniqueKey('dedupe');
    const pusher = dedupePusher(key);
    const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const big = Buffer.alloc(64 * 1024 + 1, 0xfe);
    const messages = [
      // Small bodies (packed): empty, every byte value, multi-byte UTF-8 text.
      { ...msg('p', 1), body: Buffer.alloc(0) },
      { ...msg('p', 2), body: every },
      { ...msg('p', 3), body: 'żółw 🐢' },
      // A break in the sequence starts a run of large bodies (one argument each).
      { ...msg('p', 5), body: big },
      { ...msg('p', 6), body: Buffer.alloc(1000, 0x41) },
      // Another outbox: small again.
      msg('q', 1),
    ];
    await pusher.pushBatch(messages);
    const stored = await redis.lrangeBuffer(key, 0, -1);
    expect(stored.map((b) => b.toString('hex'))).toEqual(
      messages.map((m) => (typeof m.body === 'string' ? Buffer.from(m.body) : m.body).toString('hex')),
    );
    expect(await redis.hgetall(queueKeys(key).outboxHighWater)).toEqual({ p: '6', q: '1' });
    // Replayed whole: nothing added, whichever form each run took.
    await pusher.pushBatch(messages);
    expect(await redis.llen(key)).toBe(messages.length);
    expect(pusher.stats()).toMatchObject({ written: messages.length, duplicatesSkipped: messages.length });
    await pusher.close();
  });
});
