import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { Outbox } from '../src/index.js';
import {
  counts,
  listBodies,
  redisSink,
  sendMany,
  silentLogger,
  tempDir,
  withoutPushBatch,
} from './support/fixtures.js';

const N = 4000;

describe('every resolved send reaches Redis exactly once', () => {
  for (const mode of ['write-ahead', 'direct-first'] as const) {
    for (const batch of ['pushBatch', 'per-message fallback'] as const) {
      it(`${mode}, ${batch}: ${N} messages from 16 concurrent senders`, async () => {
        const { sink, redis, key } = redisSink();
        const outbox = new Outbox({
          dir: tempDir(),
          sink: batch === 'pushBatch' ? sink : withoutPushBatch(sink),
          mode,
          logger: silentLogger,
        });
        const results = await sendMany(outbox, 'm', N);
        expect(results.size).toBe(N);
        const ids = [...results.values()].map((r) => r.id);
        expect(new Set(ids).size).toBe(N);
        for (const r of results.values()) expect(r.id).toBe(`${outbox.id}:${r.seq}`);
        await until(async () => (await redis.llen(key)) >= N, 20_000, 'all messages in the list');
        await outbox.close();
        const bodies = await listBodies(redis, key);
        expect(bodies.length).toBe(N);
        const seen = counts(bodies);
        for (const body of results.keys()) expect(seen.get(body), body).toBe(1);
        const s = outbox.stats();
        expect(s.accepted).toBe(N);
        if (mode === 'write-ahead') expect(s.forwarded).toBe(N);
        else expect(s.direct + s.forwarded).toBe(N);
        expect(s.backlogMessages).toBe(0);
        await sink.close();
      });
    }
  }

  it('write-ahead: the sink gets ids in seq order (the list order follows the seqs)', async () => {
    const { sink, redis, key } = redisSink();
    const outbox = new Outbox({ dir: tempDir(), sink, logger: silentLogger, batchMessages: 50 });
    const results = await sendMany(outbox, 'o', 1000, 8);
    await until(async () => (await redis.llen(key)) >= 1000, 20_000, 'all in the list');
    const seqs = (await listBodies(redis, key)).map((b) => results.get(b)?.seq ?? -1);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    await outbox.close();
    await sink.close();
  });
});
