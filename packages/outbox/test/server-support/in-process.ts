/**
 * An {@link OutboxProxy} in the test's own process, in front of a real Outbox in a temp directory
 * and the sink `q-outbox serve` makes for a `redis://` URL (RedisListPusher with
 * `dedupe: 'outbox-id'`) on the run's redis-server or another, with an undici keep-alive client. Everything is closed and removed by {@link InProcessProxy.dispose}.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@q/core';
import { Outbox, type OutboxOptions } from '@q/outbox';
import type { Redis } from 'ioredis';
import { Client } from 'undici';
import { inject } from 'vitest';
import { client as redisClient, uniqueKey } from '../../../redis/test/support/clients.js';
import { openSink } from '../../src/cli/open-sink.js';
import { parseSinkUrl } from '../../src/cli/sink-url.js';
import type { OutboxProxyOptions } from '../../src/server/options.js';
import { OutboxProxy } from '../../src/server/proxy.js';

/** A started in-process proxy and what it stands on. */
export interface InProcessProxy {
  readonly proxy: OutboxProxy;
  readonly outbox: Outbox;
  readonly dir: string;
  /** The Redis list the sink pushes to, and a client to read it. */
  readonly key: string;
  readonly redis: Redis;
  /** A keep-alive client of the TCP listener. */
  readonly http: Client;
  readonly url: string;
  readonly socket: string | undefined;
  /** Closes the client, the proxy (and outbox), the sink, and removes the directory. */
  dispose(): Promise<void>;
}

/**
 * Starts one; `socket: true` also listens on a unix socket in the temp directory, `redisUrl` picks
 * another redis-server than the run's.
 */
export async function startInProcessProxy(
  options: {
    socket?: boolean;
    redisUrl?: string;
    proxy?: Partial<OutboxProxyOptions>;
    outbox?: Partial<OutboxOptions>;
  } = {},
): Promise<InProcessProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'q-outbox-proxy-'));
  const key = uniqueKey('outbox-proxy');
  const redisUrl = options.redisUrl ?? inject('redisUrl');
  const redis = redisClient(redisUrl);
  // A test that stops its redis-server would get ioredis's "Unhandled error event" lines.
  redis.on('error', () => {});
  const sink = await openSink(parseSinkUrl(`${redisUrl}/${key}`), silentLogger);
  const outbox = new Outbox({ dir: join(dir, 'outbox'), sink: sink.pusher, logger: silentLogger, ...options.outbox });
  await outbox.ready();
  const proxy = new OutboxProxy({
    outbox,
    port: 0,
    ...(options.socket === true ? { socket: join(dir, 'proxy.sock') } : {}),
    ...options.proxy,
  });
  const { http: url, socket } = await proxy.listen();
  const http = new Client(url, { keepAliveTimeout: 10_000 });
  return {
    proxy,
    outbox,
    dir,
    key,
    redis,
    http,
    url,
    socket,
    async dispose() {
      await http.close();
      await proxy.close({ timeoutMs: 2000 });
      await sink.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` every 20 ms until it returns true or `timeoutMs` passes (then throws `what`). */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The JSON of an undici response body. */
export async function json(body: { text(): Promise<string> }): Promise<Record<string, unknown>> {
  return JSON.parse(await body.text()) as Record<string, unknown>;
}
