import { inspect } from 'node:util';
import { ConfirmAbortedError, ExecutorClosedError, InvalidOptionError, OUTBOX_ID_HEADER, silentLogger } from '@q/core';
import { InvalidMessageError, RedisListPusher } from '@q/redis';
import { describe, expect, it, onTestFinished } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { client, uniqueKey } from './support/clients.js';
import { startRedisServer } from './support/redis-server.js';

const modes = [
  { name: 'plain', options: {} },
  { name: "dedupe: 'outbox-id'", options: { dedupe: 'outbox-id' as const } },
];

/** Messages as `@q/outbox` hands them over; a plain pusher ignores the headers. */
const batchOf = (bodies: (string | Buffer)[], outbox = 'ob', first = 1) =>
  bodies.map((body, i) => ({ body, headers: { [OUTBOX_ID_HEADER]: `${outbox}:${first + i}` } }));

/**
 * The commands a client sent for `key`, as MONITOR sees them (not those a script ran inside Redis), on a
 * server of its own: on the run's shared server, other test files' traffic kept coming after the
 * monitor disconnected, and ioredis threw "Command queue state error" for it (uncaught).
 */
async function watchCommands(url: string, key: string): Promise<{ commands: string[]; stop: () => void }> {
  const monitor = await client(url).monitor();
  const commands: string[] = [];
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (!source.includes('lua') && args.includes(key)) commands.push(String(args[0]).toLowerCase());
  });
  return { commands, stop: () => monitor.disconnect() };
}

describe.each(modes)('RedisListPusher.pushBatch ($name)', ({ options }) => {
  it('20,000 messages go out in one write, in order, and the promise resolves once Redis has them', async () => {
    const server = await startRedisServer();
    onTestFinished(() => server.dispose());
    const redis = client(server.url);
    onTestFinished(() => redis.disconnect());
    const key = uniqueKey('batch');
    const watch = await watchCommands(server.url, key);
    const pusher = new RedisListPusher({ redis, key, ...options });
    const bodies = Array.from({ length: 20_000 }, (_, i) => `m${i}`);
    await pusher.pushBatch(batchOf(bodies));
    expect(await redis.lrange(key, 0, -1)).toEqual(bodies);
    await until(() => watch.commands.length >= 2, 5000, 'MONITOR lines'); // the write and the LRANGE
    watch.stop();
    expect(watch.commands.filter((c) => c !== 'lrange')).toHaveLength(1);
    expect(watch.commands[0]).toMatch(/^(rpush|evalsha|eval)$/);
    expect(pusher.stats().written).toBe(20_000);
    await pusher.close();
  });

  it('goes after what push and pushAndConfirm buffered before it, without waiting for the flush interval', async () => {
    const redis = client();
    const key = uniqueKey('batch');
    const pusher = new RedisListPusher({ redis, key, flushIntervalMs: 60_000, ...options });
    const [a, b, c, d, e] = batchOf(['a', 'b', 'c', 'd', 'e']) as [never, never, never, never, never];
    await pusher.push(a);
    const confirmB = pusher.pushAndConfirm(b);
    const started = performance.now();
    await pusher.pushBatch([c, d]);
    expect(performance.now() - started).toBeLessThan(5000);
    await confirmB;
    await pusher.push(e);
    await pusher.close();
    expect(await redis.lrange(key, 0, -1)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('a 10 MiB body and a 64 KiB + 1 body arrive byte for byte', async () => {
    const redis = client();
    const key = uniqueKey('batch');
    const pusher = new RedisListPusher({ redis, key, ...options });
    const big = Buffer.alloc(10 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32BE(i, i);
    const odd = Buffer.alloc(64 * 1024 + 1, 0x61);
    odd[odd.length - 1] = 0x7a;
    await pusher.pushBatch(batchOf([big, 'small', odd]));
    const list = await redis.lrangeBuffer(key, 0, -1);
    expect(list).toHaveLength(3);
    expect(list[0]?.equals(big)).toBe(true);
    expect(list[1]?.toString()).toBe('small');
    expect(list[2]?.equals(odd)).toBe(true);
    await pusher.close();
  });

  it('an empty batch resolves and writes nothing; an aborted signal pushes nothing; a bad message refuses the whole batch', async () => {
    const redis = client();
    const key = uniqueKey('batch');
    const pusher = new RedisListPusher({ redis, key, logger: silentLogger, ...options });
    await pusher.pushBatch([]);
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    await expect(pusher.pushBatch(batchOf(['x']), { signal: controller.signal })).rejects.toBeInstanceOf(
      ConfirmAbortedError,
    );
    const bad = batchOf(['y', 'z']);
    await expect(pusher.pushBatch([bad[0], { body: 1 }, bad[1]] as never)).rejects.toBeInstanceOf(InvalidMessageError);
    await expect(pusher.pushBatch('not an array' as never)).rejects.toBeInstanceOf(InvalidOptionError);
    await pusher.flush();
    expect(await redis.exists(key)).toBe(0);
    expect(pusher.stats().written).toBe(0);
    await pusher.close();
    await expect(pusher.pushBatch(batchOf(['late']))).rejects.toBeInstanceOf(ExecutorClosedError);
  });

  it('a failed write rejects with an error that carries no body, and onError gets the batch', async () => {
    const redis = client();
    const key = uniqueKey('batch');
    await redis.set(key, 'not a list');
    const failures: number[] = [];
    const pusher = new RedisListPusher({ redis, key, onError: (_e, m) => failures.push(m.length), ...options });
    const error = await pusher.pushBatch(batchOf(['SECRET-BODY-1', 'SECRET-BODY-2'])).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/WRONGTYPE/);
    expect(inspect(error, { depth: 5 })).not.toMatch(/SECRET-BODY/);
    expect(failures).toEqual([2]);
    await pusher.close();
  });
});

describe('RedisListPusher.pushBatch (plain)', () => {
  it('takes strings, Buffers and { body } like push', async () => {
    const redis = client();
    const key = uniqueKey('batch');
    const pusher = new RedisListPusher({ redis, key });
    await pusher.pushBatch(['s', Buffer.from('b'), { body: 'o' }]);
    expect(await redis.lrange(key, 0, -1)).toEqual(['s', 'b', 'o']);
    expect(pusher.stats()).toMatchObject({ written: 3, duplicatesSkipped: 0 });
    await pusher.close();
  });
});
