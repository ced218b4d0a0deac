import type { Cluster, Redis } from 'ioredis';
import type { SourceHealth } from './source-health.js';

/**
 * Pause/resume from the connection's state: the client losing its connection pauses the producer,
 * the client being ready again resumes it. Returns the function that stops watching.
 *
 * @param blocking the producer's own connection for blocking reads; its errors are the source's
 *   state, so they are taken here rather than left as unhandled `error` events.
 */
export function watchConnection(redis: Redis | Cluster, health: SourceHealth, blocking: Redis | Cluster): () => void {
  blocking.on('error', () => health.down());
  const down = (): void => health.down();
  const up = (): void => health.ok();
  redis.on('close', down);
  redis.on('ready', up);
  return () => {
    redis.off('close', down);
    redis.off('ready', up);
  };
}
