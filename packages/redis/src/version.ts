import type { Cluster, Redis } from 'ioredis';
import { RedisVersionError } from './errors.js';

/** What each mode needs: `BLMPOP` (7.0) for at-most-once; `LPOP key count` and `BLMOVE` (6.2) for at-least-once. */
export const REQUIRED_VERSION = {
  /** `BLMPOP` came in Redis 7.0. */
  'at-most-once': '7.0.0',
  /** `LPOP key count` and `BLMOVE` came in Redis 6.2. */
  'at-least-once': '6.2.0',
} as const;

const checked = new WeakMap<object, Promise<string>>();

/** The server's version (`redis_version` of INFO server), asked once per client. */
export function serverVersion(redis: Redis | Cluster): Promise<string> {
  let version = checked.get(redis);
  if (version === undefined) {
    version = redis.info('server').then((info) => /redis_version:([0-9.]+)/.exec(info)?.[1] ?? '0.0.0');
    checked.set(redis, version);
    version.catch(() => checked.delete(redis));
  }
  return version;
}

/** Throws {@link RedisVersionError} when the server is older than `mode` needs. */
export async function assertRedisVersion(redis: Redis | Cluster, mode: keyof typeof REQUIRED_VERSION): Promise<void> {
  const version = await serverVersion(redis);
  const required = REQUIRED_VERSION[mode];
  if (compare(version, required) < 0) throw new RedisVersionError(version, required, mode);
}

function compare(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
