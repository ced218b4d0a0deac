import type { Cluster, Redis } from 'ioredis';
import { LUA_SOURCES } from './lua-scripts.generated.js';

/**
 * The Lua scripts, from `lua/<name>-<numKeys>.lua` (see each file's header), embedded at build time by
 * scripts/generate-lua.mjs: nothing is read from disk at runtime, so bundlers and packers keep them.
 */
const SCRIPTS = {
  qClaim: { file: 'claim-9.lua', numberOfKeys: 9 },
  qRequeue: { file: 'requeue-2.lua', numberOfKeys: 2 },
  qRecover: { file: 'recover-6.lua', numberOfKeys: 6 },
  qOutboxPush: { file: 'outbox-push-2.lua', numberOfKeys: 2 },
  qPushCapped: { file: 'push-capped-2.lua', numberOfKeys: 2 },
  qReaders: { file: 'readers-1.lua', numberOfKeys: 1 },
} as const;

/** A client with our scripts defined: called by SHA, re-sent by ioredis after a `SCRIPT FLUSH`. */
export interface ScriptedRedis {
  qClaim(...args: (string | number)[]): Promise<(string | number)[]>;
  qClaimBuffer(...args: (string | number)[]): Promise<(Buffer | number)[]>;
  qRequeue(...args: (string | number)[]): Promise<number>;
  qRecover(...args: (string | number)[]): Promise<number>;
  /**
   * `outbox-push-2.lua`: `argv` holds runs (outbox, first seq, last seq, bodies); replies `[pushed, skipped]`. An
   * array, not a spread (ioredis flattens it): a large batch spread would overflow the call stack.
   */
  qOutboxPush(list: string, highWater: string, argv: (string | Buffer)[]): Promise<[number, number]>;
  /**
   * `push-capped-2.lua`: `argv` is the maximum length, the overflow, the dead-letter flag, then bodies
   * (drop-head) or units (reject-publish); replies `[pushed, dropped]` or `[pushed, ...rejected units]`.
   */
  qPushCapped(list: string, deadLetter: string, argv: (string | Buffer | number)[]): Promise<number[]>;
  /** `readers-1.lua`: registers, unregisters or counts the producers reading a list. */
  qReaders(readers: string, action: 'register' | 'unregister' | 'count', ...args: (string | number)[]): Promise<number>;
}

const defined = new WeakSet<object>();

/** Defines the scripts on `redis` (once per client) and returns it typed with them. */
export function withScripts(redis: Redis | Cluster): (Redis | Cluster) & ScriptedRedis {
  if (!defined.has(redis)) {
    for (const [name, { file, numberOfKeys }] of Object.entries(SCRIPTS)) {
      redis.defineCommand(name, { lua: LUA_SOURCES[file], numberOfKeys });
    }
    defined.add(redis);
  }
  return redis as (Redis | Cluster) & ScriptedRedis;
}
