import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from '../../../test-support/tcp-proxy.js';
import { delay, until } from '../../../test-support/wait.js';
import { Outbox, type SendResult, type SpillReason } from '../src/index.js';
import { counts, listBodies, redisSink, silentLogger, tempDir } from './support/fixtures.js';

const proxies: TcpProxy[] = [];
const clients: Redis[] = [];
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await Promise.all(proxies.map((p) => p.close()));
});

/** Redis through a TCP proxy that can stall (nothing forwarded, nothing closed: a sink that hangs). */
async function stallableRedis(): Promise<{ proxy: TcpProxy; redis: Redis }> {
  const port = Number(new URL(inject('redisUrl')).port);
  const proxy = await startTcpProxy({ port });
  proxies.push(proxy);
  const redis = new Redis({ host: proxy.host, port: proxy.port, maxRetriesPerRequest: null });
  clients.push(redis);
  await until(() => redis.status === 'ready', 10_000, 'redis ready');
  return { proxy, redis };
}

/** `count` sends from `senders` loops; the results by body. */
async function send(outbox: Outbox, prefix: string, count: number, senders: number, into: Map<string, SendResult>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: senders }, async () => {
      for (let i = next++; i < count; i = next++) into.set(`${prefix}-${i}`, await outbox.send(`${prefix}-${i}`));
    }),
  );
}

describe('direct-first: a stalled sink makes the outbox spill to the log, and order holds', () => {
  const cases: { why: SpillReason; senders: number; options: { directTimeoutMs: number; maxDirectBacklog: number } }[] =
    [
      { why: 'timeout', senders: 8, options: { directTimeoutMs: 1000, maxDirectBacklog: 10_000 } },
      { why: 'backlog', senders: 100, options: { directTimeoutMs: 3000, maxDirectBacklog: 40 } },
    ];
  for (const { why, senders, options } of cases) {
    it(`spill on ${why}: every send resolves, arrives once, and the list is in id order`, async () => {
      const { proxy, redis } = await stallableRedis();
      const { sink, key } = redisSink({ redis });
      const outbox = new Outbox({
        dir: tempDir('spill'),
        sink,
        mode: 'direct-first',
        logger: silentLogger,
        ...options,
      });
      const spills: SpillReason[] = [];
      outbox.on('spill', ({ reason }) => spills.push(reason));
      const results = new Map<string, SendResult>();

      await send(outbox, 'a', 200, 4, results);
      expect(outbox.stats().direct).toBe(200);
      proxy.stall();
      const during = send(outbox, 'b', 600, senders, results);
      await until(() => outbox.stats().route === 'log', 10_000, 'spilled');
      await during; // resolved: in the log, while the sink still hangs
      expect(outbox.stats().backlogMessages).toBeGreaterThan(0);
      await delay(200);
      proxy.resume();
      await until(() => outbox.stats().route === 'direct', 20_000, 'direct again once drained');
      await send(outbox, 'c', 200, 4, results);
      expect(outbox.stats().direct).toBeGreaterThan(200);
      await until(async () => (await redis.llen(key)) >= 1000, 20_000, 'all in redis');
      await outbox.close();

      expect(spills[0]).toBe(why);
      const bodies = await listBodies(redis, key);
      const seen = counts(bodies);
      expect(seen.size).toBe(1000);
      for (const body of results.keys()) expect(seen.get(body), body).toBe(1);
      const seqs = bodies.map((b) => results.get(b)?.seq as number);
      for (let i = 1; i < seqs.length; i++) expect(seqs[i] as number).toBeGreaterThan(seqs[i - 1] as number);
      await sink.close();
    });
  }

  it('under sustained load the outbox goes direct again once the sink is back (the log never has to be idle)', async () => {
    const { proxy, redis } = await stallableRedis();
    const { sink, key } = redisSink({ redis });
    const outbox = new Outbox({
      dir: tempDir('spill'),
      sink,
      mode: 'direct-first',
      logger: silentLogger,
      directTimeoutMs: 500,
    });
    await outbox.ready();
    const results = new Map<string, SendResult>();
    let stop = false;
    let n = 0;
    const senders = Promise.all(
      Array.from({ length: 16 }, async () => {
        while (!stop) {
          const body = `l-${n++}`;
          results.set(body, await outbox.send(body));
        }
      }),
    );
    await until(() => outbox.stats().direct > 200, 10_000, 'direct sends');
    proxy.stall();
    await until(() => outbox.stats().route === 'log', 10_000, 'spilled');
    await delay(300);
    proxy.resume();
    const directBefore = outbox.stats().direct;
    await until(() => outbox.stats().route === 'direct', 10_000, 'direct again while sends keep coming');
    await until(() => outbox.stats().direct > directBefore + 200, 10_000, 'direct sends again');
    stop = true;
    await senders;
    await until(async () => (await redis.llen(key)) >= results.size, 20_000, 'all in redis');
    await outbox.close();
    const bodies = await listBodies(redis, key);
    expect(counts(bodies).size).toBe(results.size);
    expect(bodies.length).toBe(results.size);
    const seqs = bodies.map((b) => results.get(b)?.seq as number);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i] as number).toBeGreaterThan(seqs[i - 1] as number);
    await sink.close();
  });

  it('close() while direct sends wait in memory on a stalled sink: they are spilled to the log and resolve', async () => {
    const { proxy, redis } = await stallableRedis();
    const { sink, key } = redisSink({ redis });
    const dir = tempDir('spill');
    const outbox = new Outbox({ dir, sink, mode: 'direct-first', logger: silentLogger, directTimeoutMs: 60_000 });
    await outbox.ready();
    proxy.stall();
    const sends = Array.from({ length: 50 }, (_, i) => outbox.send(`s-${i}`));
    await delay(100);
    await outbox.close({ timeoutMs: 200 });
    const results = await Promise.all(sends);
    expect(results.length).toBe(50);
    expect(outbox.stats().spilled).toBe(50);
    proxy.resume();
    const again = new Outbox({ dir, sink, mode: 'direct-first', logger: silentLogger });
    await until(async () => (await redis.llen(key)) >= 50, 20_000, 'forwarded after reopen');
    await until(() => again.stats().route === 'direct', 10_000, 'direct again');
    await again.close();
    const seen = counts(await listBodies(redis, key));
    for (let i = 0; i < 50; i++) expect(seen.get(`s-${i}`)).toBe(1);
    await sink.close();
  });
});
