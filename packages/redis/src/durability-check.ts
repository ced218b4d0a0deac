import { causeText, type Logger } from '@q/core';
import type { Cluster, Redis } from 'ioredis';

const checked = new WeakSet<object>();

/**
 * What a confirm of a Redis write means depends on the server's persistence: `pushAndConfirm`
 * resolves once Redis replied, that is once the message is in the server's memory. Only
 * `appendonly yes` with `appendfsync always` has it on disk (fsync'd) before the reply. Asked once
 * per client, on its first connect (`CONFIG GET`); a server that refuses `CONFIG` (renamed or
 * disabled, as managed services do) is reported as not checked. Never throws.
 *
 * @returns a function that forgets the check if the client has not connected yet.
 */
export function checkDurability(redis: Redis | Cluster, logger: Logger, list: string): () => void {
  if (checked.has(redis)) return () => {};
  checked.add(redis);
  const check = (): void => {
    void ask(redis).then(
      (config) => {
        const warning = durabilityWarning(config);
        if (warning !== undefined) logger.warn({ list, ...config }, warning);
      },
      (error: unknown) =>
        logger.warn(
          { list, err: causeText(error) },
          `Redis persistence could not be checked (CONFIG GET appendonly appendfsync failed): a confirmed push is at least in the server's memory; whether it is on disk depends on appendonly/appendfsync (see docs/redis.md, "AMQP-grade semantics")`,
        ),
    );
  };
  if (redis.status === 'ready') {
    check();
    return () => {};
  }
  redis.once('ready', check);
  return () => {
    if (redis.listeners('ready').includes(check)) {
      redis.off('ready', check);
      checked.delete(redis);
    }
  };
}

interface Persistence {
  appendonly: string | undefined;
  appendfsync: string | undefined;
}

async function ask(redis: Redis | Cluster): Promise<Persistence> {
  const reply = (await redis.call('CONFIG', 'GET', 'appendonly', 'appendfsync')) as string[];
  const config: Record<string, string> = {};
  for (let i = 0; i + 1 < reply.length; i += 2) config[String(reply[i])] = String(reply[i + 1]);
  return { appendonly: config.appendonly, appendfsync: config.appendfsync };
}

/** The warning for `config`, or `undefined` when a confirm means fsync'd to disk. */
export function durabilityWarning(config: Persistence): string | undefined {
  if (config.appendonly === 'yes' && config.appendfsync === 'always') return undefined;
  const memory = "a confirmed push is accepted into the server memory, not fsync'd to disk";
  if (config.appendonly !== 'yes') {
    return `Redis runs with appendonly ${config.appendonly ?? '(unknown)'}: ${memory}; a restart or crash of the server loses every push since the last RDB snapshot, if any`;
  }
  if (config.appendfsync === 'everysec') {
    return `Redis runs with appendfsync everysec: ${memory} before the reply; the AOF is fsync'd about once a second, so a crash of the machine (not of redis-server alone) can lose about the last second of confirmed pushes. appendfsync always makes a confirm mean on disk`;
  }
  return `Redis runs with appendfsync ${config.appendfsync ?? '(unknown)'}: ${memory}; the operating system writes the AOF when it likes (often every 30 s), so a crash of the machine can lose that much of confirmed pushes. appendfsync always makes a confirm mean on disk`;
}
