import { ConfirmAbortedError, InvalidOptionError, silentLogger } from '@q/core';
import { RedisListPusher } from '@q/redis';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from '../../../test-support/tcp-proxy.js';
import { outcomeWithin } from '../../../test-support/wait.js';
import { client, uniqueKey } from './support/clients.js';

let proxy: TcpProxy | undefined;
let viaProxy: Redis | undefined;
afterEach(async () => {
  proxy?.resume();
  viaProxy?.disconnect();
  await proxy?.close();
  proxy = undefined;
  viaProxy = undefined;
});

/** A client of the test redis-server through a loopback proxy that can stall, connected. */
async function stallable(): Promise<Redis> {
  const target = new URL(inject('redisUrl'));
  proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
  viaProxy = new Redis(`redis://${proxy.host}:${proxy.port}`, { maxRetriesPerRequest: null });
  viaProxy.on('error', () => {});
  await viaProxy.ping();
  return viaProxy;
}

describe('RedisListPusher.pushAndConfirm with a signal', () => {
  it('a stalled RPUSH: the aborted confirm rejects at once; the rest of its chunk confirms once Redis answers', async () => {
    const redis = await stallable();
    const key = uniqueKey('confirm-abort');
    const pusher = new RedisListPusher({ redis, key, flushIntervalMs: 5, logger: silentLogger });
    proxy?.stall();
    const controller = new AbortController();
    const a = pusher.pushAndConfirm('a');
    const b = pusher.pushAndConfirm('b', { signal: controller.signal });
    const c = pusher.pushAndConfirm({ body: 'c' });
    // The chunk is sent (5 ms) and held by the stalled connection: nobody is confirmed.
    expect(await outcomeWithin(Promise.race([a, b, c]), 200)).toBe('pending');
    const reason = new Error('the caller gave up');
    const abortedAt = performance.now();
    controller.abort(reason);
    const error = await b.then(
      () => undefined,
      (e: unknown) => e,
    );
    // The RPUSH stays stalled until resume() below, so any bound proves "at once"; the slack is for a slow CI machine.
    expect(performance.now() - abortedAt).toBeLessThan(2000);
    expect(error).toBeInstanceOf(ConfirmAbortedError);
    expect((error as ConfirmAbortedError).code).toBe('Q_CONFIRM_ABORTED');
    expect((error as ConfirmAbortedError).cause).toBe(reason);
    expect(await outcomeWithin(Promise.all([a, c]), 100)).toBe('pending');
    proxy?.resume();
    expect(await outcomeWithin(Promise.all([a, c]), 5000)).toBe('resolved');
    // The aborted message's outcome was unknown to its caller; here it was written with its chunk.
    expect(await client().lrange(key, 0, -1)).toEqual(['a', 'b', 'c']);
    await pusher.close();
  }, 20_000);

  it('flush with a signal ends the wait on a stalled write, not the write', async () => {
    const redis = await stallable();
    const key = uniqueKey('flush-abort');
    const pusher = new RedisListPusher({ redis, key, flushIntervalMs: 60_000, logger: silentLogger });
    await pusher.push('x');
    proxy?.stall();
    const controller = new AbortController();
    const flushed = pusher.flush({ signal: controller.signal });
    expect(await outcomeWithin(flushed, 100)).toBe('pending');
    controller.abort();
    await expect(flushed).rejects.toBeInstanceOf(ConfirmAbortedError);
    proxy?.resume();
    await pusher.close();
    expect(await client().lrange(key, 0, -1)).toEqual(['x']);
  }, 20_000);

  it('a signal already aborted: rejected at once and nothing pushed; a non-signal is an InvalidOptionError', async () => {
    const key = uniqueKey('pre-aborted');
    const pusher = new RedisListPusher({ redis: client(), key, flushIntervalMs: 1, logger: silentLogger });
    await expect(pusher.pushAndConfirm('gone', { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(
      ConfirmAbortedError,
    );
    await expect(pusher.pushAndConfirm('bad', { signal: {} as AbortSignal })).rejects.toBeInstanceOf(
      InvalidOptionError,
    );
    await pusher.pushAndConfirm('kept');
    await pusher.close();
    expect(await client().lrange(key, 0, -1)).toEqual(['kept']);
  });
});
