import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Logger, type PushInfo, silentLogger } from '@q/core';
import { RedisListPusher } from '@q/redis';
import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { client, uniqueKey } from '../../../redis/test/support/clients.js';
import { type RedisServer, startRedisServer } from '../../../redis/test/support/redis-server.js';
import type { Outbox, OutboxSink, OutboxSinkMessage, SendResult } from '../../src/index.js';

const dirs: string[] = [];

/** A fresh directory under the system's temp dir, removed after the file's tests. */
export function tempDir(what = 'outbox'): string {
  const dir = mkdtempSync(join(tmpdir(), `q-${what}-`));
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A Redis list sink (pushBatch) on its own key, de-duplicating by outbox id unless told otherwise. */
export function redisSink(options: { redis?: Redis; url?: string; key?: string; dedupe?: boolean } = {}): {
  sink: RedisListPusher;
  redis: Redis;
  key: string;
  highWaterKey: string;
} {
  const redis = options.redis ?? client(options.url);
  const key = options.key ?? uniqueKey('outbox');
  const highWaterKey = `${key}:hwm`;
  const sink = new RedisListPusher({
    redis,
    key,
    logger: silentLogger,
    ...(options.dedupe === false ? {} : { dedupe: 'outbox-id' as const, highWaterKey }),
  });
  return { sink, redis, key, highWaterKey };
}

/** The list's bodies, as strings. */
export async function listBodies(redis: Redis, key: string): Promise<string[]> {
  return redis.lrange(key, 0, -1);
}

export { client, silentLogger, uniqueKey };

/**
 * The same real pusher with `pushBatch` hidden: the outbox then takes its per-message fallback
 * (`pushAndConfirm` for each, then `flush`). Not a mock: every call goes to the real pusher.
 */
export function withoutPushBatch(sink: {
  name(): string;
  push(m: OutboxSinkMessage): unknown;
  pushAndConfirm(m: OutboxSinkMessage, info?: PushInfo): Promise<void>;
  flush(): Promise<unknown>;
}): OutboxSink {
  return {
    name: () => sink.name(),
    push: async (m) => {
      await sink.push(m);
    },
    pushAndConfirm: (m, info) => sink.pushAndConfirm(m, info),
    flush: () => sink.flush(),
  } as OutboxSink;
}

/** Sends `count` messages with unique bodies `<prefix>-<i>` from `senders` concurrent loops; the results by body. */
export async function sendMany(
  outbox: Outbox,
  prefix: string,
  count: number,
  senders = 16,
): Promise<Map<string, SendResult>> {
  const results = new Map<string, SendResult>();
  let next = 0;
  await Promise.all(
    Array.from({ length: senders }, async () => {
      for (let i = next++; i < count; i = next++) {
        const body = `${prefix}-${i}`;
        results.set(body, await outbox.send(body));
      }
    }),
  );
  return results;
}

/** Each body's count in the list. */
export function counts(bodies: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const b of bodies) m.set(b, (m.get(b) ?? 0) + 1);
  return m;
}

/** A logger that keeps every line, to count what was said. */
export function recordingLogger(): Logger & { lines: { level: string; message: string }[] } {
  const lines: { level: string; message: string }[] = [];
  const at = (level: string) => (_fields: unknown, message: string) => {
    lines.push({ level, message });
  };
  return { lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

/** A redis-server of the test's own (append-only file, so a restart keeps the list and the marks). */
export async function ownRedis(): Promise<RedisServer> {
  const server = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  servers.push(server);
  return server;
}

const servers: RedisServer[] = [];
afterAll(async () => {
  await Promise.all(servers.splice(0).map((s) => s.dispose()));
});

/**
 * A client that fails commands at once while disconnected (no offline queue), so a stopped server is a
 * sink that is down rather than one that hangs; it reconnects by itself.
 */
export function failFastClient(url: string): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => 50,
  });
  redis.on('error', () => undefined);
  ownClients.push(redis);
  return redis;
}

const ownClients: Redis[] = [];
afterAll(() => {
  for (const c of ownClients.splice(0)) c.disconnect();
});

/**
 * Where the records of a segment file end: the log zero-fills ahead of its writer, so the file's size
 * is not it. Only for logs whose every record ends in a non-zero byte.
 */
export function dataEnd(file: string): number {
  const buf = readFileSync(file);
  let end = buf.length;
  while (end > 0 && buf[end - 1] === 0) end--;
  return end;
}

/**
 * The main log's active segment file of an outbox directory: its largest `.seg` (zero-filled ahead of
 * its writer, or the only one), where the tests that cut or damage records find them.
 */
export function largestSegmentFile(dir: string): string {
  const files = readdirSync(join(dir, 'segments'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.seg'))
    .map((e) => join(e.parentPath, e.name));
  return files.sort((a, b) => statSync(b).size - statSync(a).size)[0] as string;
}
