import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';

/** The Lua scripts, read once from `lua/<name>-<numKeys>.lua` (see each file's header). */
const SCRIPTS = {
  qClaim: { file: 'claim-9.lua', numberOfKeys: 9 },
  qRequeue: { file: 'requeue-2.lua', numberOfKeys: 2 },
  qRecover: { file: 'recover-6.lua', numberOfKeys: 6 },
} as const;

const sources = new Map<string, string>();

function source(file: string): string {
  let text = sources.get(file);
  if (text === undefined) {
    text = readFileSync(new URL(`./lua/${file}`, import.meta.url), 'utf8');
    sources.set(file, text);
  }
  return text;
}

/** A client with our scripts defined: called by SHA, re-sent by ioredis after a `SCRIPT FLUSH`. */
export interface ScriptedRedis {
  qClaim(...args: (string | number)[]): Promise<(string | number)[]>;
  qClaimBuffer(...args: (string | number)[]): Promise<(Buffer | number)[]>;
  qRequeue(...args: (string | number)[]): Promise<number>;
  qRecover(...args: (string | number)[]): Promise<number>;
}

const defined = new WeakSet<object>();

/** Defines the scripts on `redis` (once per client) and returns it typed with them. */
export function withScripts(redis: Redis | Cluster): (Redis | Cluster) & ScriptedRedis {
  if (!defined.has(redis)) {
    for (const [name, { file, numberOfKeys }] of Object.entries(SCRIPTS)) {
      redis.defineCommand(name, { lua: source(file), numberOfKeys });
    }
    defined.add(redis);
  }
  return redis as (Redis | Cluster) & ScriptedRedis;
}
