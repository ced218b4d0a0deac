import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { queueKeys } from '@q/redis';
import type { Cluster, Redis } from 'ioredis';
import { forkWorker } from '../../../../test-support/fork-worker.js';

const worker = fileURLToPath(new URL('../fixtures/worker.ts', import.meta.url));

export interface CrashRunReport {
  /** Messages sent, per key. */
  sent: number;
  /** Distinct messages found in the results, per key (all keys together). */
  distinct: number;
  /** Results beyond the first of each message. */
  duplicates: number;
  /** What the killed workers held (in flight or staged) when they died: the bound on duplicates. */
  heldAtKills: number;
  kills: number;
}

function startWorker(config: object): Promise<ChildProcess> {
  return forkWorker(worker, [JSON.stringify(config)]);
}

/**
 * Pushes `perKey` messages to each key, runs a worker, SIGKILLs it at `kills` random points (a new
 * worker each time), lets the last one finish, and counts the results end to end.
 */
export async function crashRun(
  redis: Redis | Cluster,
  config: { url?: string; nodes?: { host: string; port: number }[]; keys: string[]; leaseMs: number },
  perKey: number,
  kills: number,
): Promise<CrashRunReport> {
  for (const key of config.keys) {
    for (let i = 0; i < perKey; i += 10_000) {
      const chunk = Array.from({ length: Math.min(10_000, perKey - i) }, (_, k) => `${key}#${i + k}`);
      await redis.rpush(key, ...chunk);
    }
  }
  const total = perKey * config.keys.length;
  const results = async (): Promise<number> => {
    let n = 0;
    for (const key of config.keys) n += await redis.llen(`${key}-results`);
    return n;
  };
  const targets = Array.from({ length: kills }, () => Math.floor(total * (0.05 + Math.random() * 0.8))).sort(
    (a, b) => a - b,
  );
  let heldAtKills = 0;
  let child = await startWorker(config);
  for (const target of targets) {
    while ((await results()) < target) await new Promise((r) => setTimeout(r, 5));
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    // What the dead consumers held is what may be delivered twice.
    for (const key of config.keys) {
      const keys = queueKeys(key);
      for (const id of await redis.smembers(keys.consumers)) {
        if ((await redis.exists(keys.lease(id))) === 0) continue;
        heldAtKills += (await redis.hlen(keys.inflight(id))) + (await redis.llen(keys.staging(id)));
      }
    }
    child = await startWorker(config);
  }
  const deadline = Date.now() + 120_000;
  const distinctNow = async (): Promise<number> => {
    let n = 0;
    for (const key of config.keys) n += new Set(await redis.lrange(`${key}-results`, 0, -1)).size;
    return n;
  };
  while ((await results()) < total || (await distinctNow()) < total) {
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const exited = new Promise((r) => child.once('exit', r));
  child.send('stop');
  await exited;
  let distinct = 0;
  let all = 0;
  for (const key of config.keys) {
    const list = await redis.lrange(`${key}-results`, 0, -1);
    all += list.length;
    distinct += new Set(list).size;
  }
  return { sent: total, distinct, duplicates: all - distinct, heldAtKills, kills };
}
