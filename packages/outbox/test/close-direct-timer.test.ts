// close() during a direct batch the sink does not answer: the batch is spilled to the log at once, and the
// direct path stops judging it. Its directTimeoutMs timer used to outlive close() and report the sink
// down (a 'sink-down' event, a warning) about an outbox already closed.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from '../../../test-support/tcp-proxy.js';
import { outcomeWithin, until } from '../../../test-support/wait.js';
import { Outbox } from '../src/index.js';
import { redisSink, silentLogger, tempDir } from './support/fixtures.js';

const proxies: TcpProxy[] = [];
const clients: Redis[] = [];
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await Promise.all(proxies.map((p) => p.close()));
});

describe('close() with a direct batch in flight on a stalled sink', () => {
  it('spills it, resolves its send, and reports nothing about the sink after close', async () => {
    const proxy = await startTcpProxy({ port: Number(new URL(inject('redisUrl')).port) });
    proxies.push(proxy);
    const redis = new Redis({ host: proxy.host, port: proxy.port, maxRetriesPerRequest: null });
    clients.push(redis);
    await until(() => redis.status === 'ready', 10_000, 'redis ready');
    const { sink } = redisSink({ redis });
    const directTimeoutMs = 600;
    const outbox = new Outbox({
      dir: tempDir('close-timer'),
      sink,
      mode: 'direct-first',
      logger: silentLogger,
      directTimeoutMs,
    });
    const events: string[] = [];
    outbox.on('sink-down', () => events.push('sink-down'));
    outbox.on('spill', ({ reason }) => events.push(`spill:${reason}`));
    await outbox.ready();
    await outbox.send('warm-up');
    proxy.stall();
    const sent = outbox.send('in-flight');
    await until(() => outbox.stats().directPending === 1, 5000, 'batch in flight');

    await outbox.close({ timeoutMs: 100 });
    const afterClose = events.length;
    expect(events).toEqual(['spill:close']);
    expect(await outcomeWithin(sent, 1000)).toBe('resolved');
    // Past the batch's directTimeoutMs: nothing more is reported.
    await new Promise((r) => setTimeout(r, directTimeoutMs + 400));
    expect(events.slice(afterClose)).toEqual([]);
    expect(outbox.stats().sink).toBe('up');
    proxy.resume();
    await sink.close();
  });
});
