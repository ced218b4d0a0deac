import type { Cluster, Redis } from 'ioredis';
import { LUA_SOURCES } from './lua-scripts.generated.js';
import { withoutBodies } from './without-bodies.js';

/** One run of an outbox push: consecutive sequences of one outbox and their bodies, in order. */
export interface OutboxRun {
  readonly outbox: string;
  readonly first: number;
  readonly bodies: readonly (string | Buffer)[];
}

const SETTLE = LUA_SOURCES['outbox-settle-2.lua'];

/**
 * Pushes runs of large bodies de-duplicated, as outbox-push-2.lua does, in one MULTI: a plain `RPUSH` of
 * every body, then outbox-settle-2.lua, which takes back what the high-water marks say was pushed already
 * and raises the marks. Redis reads the bodies as the RPUSH's arguments instead of copying each into a
 * Lua string and back (see the script's header). The script goes as EVAL, not EVALSHA: a NOSCRIPT inside
 * EXEC would leave the RPUSH done and the marks not raised. Resolves `[pushed, skipped]`.
 */
export async function pushInTransaction(
  redis: Redis | Cluster,
  key: string,
  highWaterKey: string,
  runs: readonly OutboxRun[],
): Promise<[number, number]> {
  const bodies: (string | Buffer)[] = [key];
  const settle: string[] = [key, highWaterKey, '0'];
  for (const run of runs) {
    for (const body of run.bodies) bodies.push(body);
    settle.push(run.outbox, String(run.first), String(run.first + run.bodies.length - 1));
  }
  settle[2] = String(bodies.length - 1);
  // Arrays, not spreads: ioredis flattens them, and a spread of a large batch overflows the call stack.
  const transaction = redis.multi().call('rpush', bodies).eval(SETTLE, 2, settle);
  let replies: [Error | null, unknown][] | null;
  try {
    replies = await transaction.exec();
  } catch (error) {
    throw withoutBodies(error);
  }
  if (replies === null) throw new Error('q outbox-push: the transaction was discarded');
  const [push, settled] = replies;
  // The script's error says what happened to the push (not done, or taken back); the RPUSH's only why.
  const error = settled?.[0] ?? push?.[0];
  if (error) throw withoutBodies(error);
  const [pushed, skipped] = settled?.[1] as [number, number];
  return [Number(pushed), Number(skipped)];
}
