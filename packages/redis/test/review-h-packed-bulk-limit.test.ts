// The dedupe writer packs a run of small bodies (average <= 256 B) into ONE argument, so Redis's
// per-argument limit (proto-max-bulk-len, 512 MB by default, settable down to 1 MB) now applies to
// the sum of a run's bodies, not to each body. A batch that went through as one argument per body
// (the form before 029bd8a, still the script's form 'a') is now refused with a protocol error, and
// Redis drops the connection. Shown with the smallest limit Redis accepts (1 MB) and a batch of
// 5000 bodies of 250 B: about what the pusher's default 1 MiB chunk holds.
import { OUTBOX_ID_HEADER, silentLogger } from '@q/core';
import { RedisListPusher } from '@q/redis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withScripts } from '../src/scripts.js';
import { type RedisServer, startRedisServer } from './support/redis-server.js';

let server: RedisServer;
const clients: Redis[] = [];
beforeAll(async () => {
  server = await startRedisServer({ args: ['--proto-max-bulk-len', '1mb'] });
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await server?.dispose();
});
const connect = (): Redis => {
  const redis = new Redis(server.url, { maxRetriesPerRequest: null });
  redis.on('error', () => {});
  clients.push(redis);
  return redis;
};

const msg = (seq: number) => ({ body: `${seq}:`.padEnd(250, 'x'), headers: { [OUTBOX_ID_HEADER]: `ob:${seq}` } });

describe('dedupe writer: a packed run and the per-argument limit', () => {
  it('a batch each of whose bodies is far below proto-max-bulk-len is stored, packed or not', async () => {
    const batch = Array.from({ length: 5000 }, (_, i) => msg(i + 1));
    // One argument per body (form 'a', what the writer sent before packing): stored.
    const direct = withScripts(connect());
    const args = ['ob', '1', '5000', 'a', ...batch.map((m) => m.body)];
    expect(await direct.qOutboxPush('rh-a', 'rh-a-hwm', args)).toEqual([5000, 0]);

    // The same batch through the pusher.
    const redis = connect();
    const pusher = new RedisListPusher({ redis, key: 'rh-m', dedupe: 'outbox-id', logger: silentLogger });
    const outcome = await pusher.pushBatch(batch).then(
      () => 'stored',
      (error: unknown) => String(error),
    );
    expect({ outcome, length: await connect().llen('rh-m') }).toEqual({ outcome: 'stored', length: 5000 });
  }, 30_000);
});
