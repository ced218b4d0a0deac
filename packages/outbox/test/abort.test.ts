import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from '../../../test-support/tcp-proxy.js';
import { delay, until } from '../../../test-support/wait.js';
import { Outbox } from '../src/index.js';
import { listBodies, redisSink, silentLogger, tempDir } from './support/fixtures.js';

const proxies: TcpProxy[] = [];
const clients: Redis[] = [];
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await Promise.all(proxies.map((p) => p.close()));
});

describe('AbortSignal on send', () => {
  for (const mode of ['write-ahead', 'direct-first'] as const) {
    it(`${mode}: an already aborted signal rejects with its reason and stores nothing`, async () => {
      const { sink, redis, key } = redisSink();
      const outbox = new Outbox({ dir: tempDir('abort'), sink, mode, logger: silentLogger });
      await outbox.send('first');
      const reason = new Error('gave up');
      await expect(outbox.send('aborted', { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
      await outbox.send('last');
      await until(async () => (await redis.llen(key)) === 2, 10_000, 'two in redis');
      await outbox.close();
      expect(await listBodies(redis, key)).toEqual(['first', 'last']);
      expect(outbox.stats().accepted).toBe(2);
    });
  }

  it('direct-first: a send waiting in memory behind a batch in flight is withdrawn by its signal; the batch is not', async () => {
    const proxy = await startTcpProxy({ port: Number(new URL(inject('redisUrl')).port) });
    proxies.push(proxy);
    const redis = new Redis({ host: proxy.host, port: proxy.port, maxRetriesPerRequest: null });
    clients.push(redis);
    await until(() => redis.status === 'ready', 10_000, 'ready');
    const { sink, key } = redisSink({ redis });
    const outbox = new Outbox({
      dir: tempDir('abort'),
      sink,
      mode: 'direct-first',
      logger: silentLogger,
      directTimeoutMs: 10_000,
    });
    await outbox.ready();
    proxy.stall();
    const inFlight = outbox.send('in flight', { signal: AbortSignal.timeout(50) });
    await delay(20); // taken into the batch now being pushed
    const ac = new AbortController();
    const waiting = outbox.send('waiting', { signal: ac.signal });
    expect(outbox.stats().directPending).toBe(2);
    ac.abort(new Error('not any more'));
    await expect(waiting).rejects.toThrow('not any more');
    expect(outbox.stats().directPending).toBe(1);
    await delay(100); // the first signal fired too, after its message was taken: ignored
    proxy.resume();
    expect((await inFlight).duplicate).toBe(false);
    await outbox.close();
    expect(await listBodies(redis, key)).toEqual(['in flight']);
  });
});
