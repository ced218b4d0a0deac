/**
 * Runs an Outbox in its own process for the crash test: sends `<prefix>-<i>` from 8 concurrent loops
 * until killed, telling the parent each body whose send resolved (so the parent knows what was promised).
 * argv: dir redisUrl key highWaterKey mode prefix
 */
import { silentLogger } from '@q/core';
import { RedisListPusher } from '@q/redis';
import { Redis } from 'ioredis';
import { Outbox } from '../../src/index.js';

const [dir, url, key, highWaterKey, mode, prefix] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
];
const redis = new Redis(url, { maxRetriesPerRequest: null });
const sink = new RedisListPusher({ redis, key, dedupe: 'outbox-id', highWaterKey, logger: silentLogger });
const outbox = new Outbox({
  dir,
  sink,
  mode: mode as 'write-ahead' | 'direct-first',
  logger: silentLogger,
  batchMessages: 64,
});
await outbox.ready();
process.send?.({ ready: true });
let next = 0;
await Promise.all(
  Array.from({ length: 8 }, async () => {
    for (;;) {
      const body = `${prefix}-${next++}`;
      await outbox.send(body);
      process.send?.({ ok: body });
    }
  }),
);
