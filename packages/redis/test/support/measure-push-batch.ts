/**
 * A rough measure, not a test: `RedisListPusher.pushBatch` throughput with 5,000 messages of 10 bytes
 * per batch, one batch in flight (as `@q/outbox`'s forwarder drives it), plain RPUSH against
 * `dedupe: 'outbox-id'` (one EVALSHA per batch), with raw ioredis RPUSH as the floor. Starts its own
 * redis-server on loopback.
 *
 *   node --conditions=@q/source --import tsx packages/redis/test/support/measure-push-batch.ts [batches]
 */
import { OUTBOX_ID_HEADER } from '@q/core';
import { RedisListPusher } from '@q/redis';
import { Redis } from 'ioredis';
import { startRedisServer } from './redis-server.js';

const BATCH = 5000;
const batches = Number(process.argv[2] ?? 200);
const server = await startRedisServer();
const redis = new Redis(server.url);

const body = (i: number): string => `m${String(i).padStart(9, '0')}`; // 10 bytes
const plainBatch = (n: number): string[] => Array.from({ length: BATCH }, (_, i) => body(n * BATCH + i));
const outboxBatch = (n: number) =>
  Array.from({ length: BATCH }, (_, i) => ({
    body: body(n * BATCH + i),
    headers: { [OUTBOX_ID_HEADER]: `outbox-1:${n * BATCH + i}` },
  }));

async function measure(name: string, prepare: (n: number) => unknown, push: (batch: never) => Promise<unknown>) {
  const ready = Array.from({ length: batches }, (_, n) => prepare(n)); // built upfront: not timed
  await redis.del('measure');
  const started = performance.now();
  for (const batch of ready) await push(batch as never);
  const seconds = (performance.now() - started) / 1000;
  const length = await redis.llen('measure');
  const rate = Math.round((batches * BATCH) / seconds);
  console.log(
    `${name.padEnd(44)} ${rate.toLocaleString('en').padStart(11)} msg/s  (${(seconds * 1000).toFixed(0)} ms, list ${length})`,
  );
  return rate;
}

try {
  for (let round = 1; round <= 2; round++) {
    console.log(`round ${round}: ${batches} batches of ${BATCH} x 10 bytes, one in flight`);
    await measure('raw ioredis RPUSH', plainBatch, (b: string[]) => redis.rpush('measure', ...b));
    const plain = new RedisListPusher({ redis, key: 'measure' });
    await measure('pushBatch, plain (one RPUSH)', outboxBatch, (b) => plain.pushBatch(b));
    await plain.close();
    await redis.del('{measure}:q:outbox-hwm');
    const dedupe = new RedisListPusher({ redis, key: 'measure', dedupe: 'outbox-id' });
    await measure("pushBatch, dedupe 'outbox-id' (one EVALSHA)", outboxBatch, (b) => dedupe.pushBatch(b));
    // The same batches again: every message is at or below the mark, nothing is pushed.
    const before = await redis.llen('measure');
    const started = performance.now();
    for (let n = 0; n < batches; n++) await dedupe.pushBatch(outboxBatch(n));
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `${'pushBatch, dedupe, all replays (skipped)'.padEnd(44)} ${Math.round((batches * BATCH) / seconds)
        .toLocaleString('en')
        .padStart(11)} msg/s  (list grew by ${(await redis.llen('measure')) - before}, batches built in the loop)`,
    );
    await dedupe.close();
  }
} finally {
  redis.disconnect();
  await server.dispose();
}
