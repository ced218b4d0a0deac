import { type Logger, silentLogger } from '@q/core';
import { RedisListPusher } from '@q/redis';
import { Redis } from 'ioredis';
import { describe, expect, it, onTestFinished } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { client, uniqueKey } from './support/clients.js';
import { startRedisServer } from './support/redis-server.js';

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { ...silentLogger, warn: (_fields, message) => void warnings.push(message), warnings };
}

/** A pusher on a server of its own started with `args`; its logger's warnings once the check ran. */
async function warningsFor(args: string[]): Promise<string[]> {
  const server = await startRedisServer({ args });
  onTestFinished(() => server.dispose());
  const redis = client(server.url);
  onTestFinished(() => redis.disconnect());
  const logger = recordingLogger();
  const pusher = new RedisListPusher({ redis, key: uniqueKey('confirm'), logger });
  await pusher.pushAndConfirm('x');
  // The check went out on the first connect, before this PING on the same connection: its answer is in.
  await redis.ping();
  await new Promise((r) => setTimeout(r, 50));
  await pusher.close();
  return logger.warnings;
}

describe('RedisListPusher at start: what a confirm means (CONFIG GET appendonly appendfsync)', () => {
  it('appendonly yes, appendfsync always: a confirm means fsync-ed, nothing is logged', async () => {
    expect(await warningsFor(['--appendonly', 'yes', '--appendfsync', 'always'])).toEqual([]);
  });

  it('appendfsync everysec: one warning that a confirm is in memory, not fsync-ed', async () => {
    const warnings = await warningsFor(['--appendonly', 'yes', '--appendfsync', 'everysec']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/appendfsync everysec/);
    expect(warnings[0]).toMatch(/memory, not fsync'd/);
  });

  it('appendonly no: one warning; a second pusher on the same client logs nothing more', async () => {
    const server = await startRedisServer({ args: ['--appendonly', 'no'] });
    onTestFinished(() => server.dispose());
    const redis = client(server.url);
    onTestFinished(() => redis.disconnect());
    const logger = recordingLogger();
    const first = new RedisListPusher({ redis, key: uniqueKey('confirm'), logger });
    await until(() => logger.warnings.length === 1, 5000, 'the warning');
    const second = new RedisListPusher({ redis, key: uniqueKey('confirm'), logger });
    await second.pushAndConfirm('x');
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toMatch(/appendonly no/);
    await Promise.all([first.close(), second.close()]);
  });

  it('CONFIG disabled (renamed away, as managed services do): one warning that it could not be checked', async () => {
    const warnings = await warningsFor(['--rename-command', 'CONFIG', '']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/could not be checked/);
  });

  it('a client that has not connected yet is checked on its first connect, not before', async () => {
    const server = await startRedisServer({ args: ['--appendonly', 'no'] });
    onTestFinished(() => server.dispose());
    const redis = new Redis(server.url, { lazyConnect: true });
    onTestFinished(() => redis.disconnect());
    const logger = recordingLogger();
    const pusher = new RedisListPusher({ redis, key: uniqueKey('confirm'), logger });
    await new Promise((r) => setTimeout(r, 100));
    expect(redis.status).toBe('wait');
    expect(logger.warnings).toEqual([]);
    await pusher.pushAndConfirm('x');
    await until(() => logger.warnings.length === 1, 5000, 'the warning');
    await pusher.close();
  });
});
