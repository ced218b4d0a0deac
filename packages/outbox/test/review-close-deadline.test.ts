// Review finding: close({ timeoutMs }) is bounded by its deadline in direct-first when the direct batch
// in flight is spilled at once (8438f80), but not when a 'backlog' spill is already under way: that
// spill waits for the stalled batch's outcome (up to directTimeoutMs) and close() waits for the spill
// before its deadline counts.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from '../../../test-support/tcp-proxy.js';
import { until } from '../../../test-support/wait.js';
import { Outbox } from '../src/index.js';
import { redisSink, silentLogger, tempDir } from './support/fixtures.js';

const proxies: TcpProxy[] = [];
const clients: Redis[] = [];
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await Promise.all(proxies.map((p) => p.close()));
});

describe('review: close() during a backlog spill with a stalled sink', () => {
  it('returns within its deadline', async () => {
    const proxy = await startTcpProxy({ port: Number(new URL(inject('redisUrl')).port) });
    proxies.push(proxy);
    const redis = new Redis({ host: proxy.host, port: proxy.port, maxRetriesPerRequest: null });
    clients.push(redis);
    await until(() => redis.status === 'ready', 10_000, 'redis ready');
    const { sink } = redisSink({ redis });
    const outbox = new Outbox({
      dir: tempDir('review-close'),
      sink,
      mode: 'direct-first',
      logger: silentLogger,
      directTimeoutMs: 5000,
      maxDirectBacklog: 5,
    });
    await outbox.ready();
    await outbox.send('warm-up');
    proxy.stall();
    const first = outbox.send('in-flight'); // the direct batch the stalled sink never answers
    await until(() => outbox.stats().directPending === 1, 5000, 'batch in flight');
    const rest = Array.from({ length: 10 }, (_, i) => outbox.send(`queued-${i}`)); // over maxDirectBacklog: spill
    await until(() => outbox.stats().route === 'log', 5000, 'backlog spill started');

    const started = Date.now();
    await outbox.close({ timeoutMs: 200 });
    const tookMs = Date.now() - started;
    proxy.resume();
    await Promise.allSettled([first, ...rest]);
    await sink.close();
    expect(tookMs, 'close({ timeoutMs: 200 }) took').toBeLessThan(2000);
  });
});
