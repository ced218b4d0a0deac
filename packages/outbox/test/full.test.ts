import { LogFullError } from '@q/log';
import { describe, expect, it } from 'vitest';
import { outcomeWithin, until } from '../../../test-support/wait.js';
import { Outbox, OutboxClosedError, OutboxFullError } from '../src/index.js';
import { counts, failFastClient, listBodies, ownRedis, redisSink, silentLogger, tempDir } from './support/fixtures.js';

const body = (i: number): string => `m${i}-`.padEnd(1000, 'x');

/** An outbox whose log holds at most 16 KiB (4 segments of 4 KiB), on a sink that is down. */
async function fullSetup(whenFull: 'block' | 'reject', mode: 'write-ahead' | 'direct-first' = 'write-ahead') {
  const server = await ownRedis();
  const redis = failFastClient(server.url);
  await until(() => redis.status === 'ready', 10_000, 'redis ready');
  const { sink, key } = redisSink({ redis });
  await server.stop();
  const outbox = new Outbox({
    dir: tempDir('full'),
    sink,
    mode,
    whenFull,
    segmentBytes: 4096,
    maxBytes: 16384,
    directTimeoutMs: 100,
    retry: { minDelayMs: 10, maxDelayMs: 50 },
    logger: silentLogger,
  });
  await outbox.ready();
  return { server, redis, sink, key, outbox };
}

describe("whenFull with maxBytes: the log's bound is reached while the sink is down", () => {
  for (const mode of ['write-ahead', 'direct-first'] as const) {
    it(`${mode}, 'reject': the send that does not fit rejects with OutboxFullError; nothing of it is stored; room returns once forwarded`, async () => {
      const { server, redis, sink, key, outbox } = await fullSetup('reject', mode);
      const sent: string[] = [];
      let refused: unknown;
      for (let i = 0; i < 100 && refused === undefined; i++) {
        try {
          await outbox.send(body(i));
          sent.push(body(i));
        } catch (err) {
          refused = err;
        }
      }
      expect(refused).toBeInstanceOf(OutboxFullError);
      expect(refused).toMatchObject({ code: 'Q_OUTBOX_FULL' });
      expect((refused as Error).cause).toBeInstanceOf(LogFullError);
      expect(sent.length).toBeGreaterThan(5);
      expect(sent.length).toBeLessThan(17);

      await server.start();
      await until(() => outbox.stats().backlogMessages === 0, 20_000, 'forwarded');
      // Forwarded segments were deleted: there is room again.
      await until(
        async () =>
          await outbox.send('after').then(
            () => true,
            () => false,
          ),
        10_000,
        'room again',
      );
      await until(async () => (await redis.llen(key)) === sent.length + 1, 10_000, 'all in redis');
      await outbox.close();
      const seen = counts(await listBodies(redis, key));
      for (const b of sent) expect(seen.get(b)).toBe(1);
      expect(seen.get('after')).toBe(1);
      expect(seen.size).toBe(sent.length + 1);
      await sink.close();
    });
  }

  it("'block': the send waits (neither resolved nor rejected) until the forwarder made room, then resolves", async () => {
    const { server, redis, sink, key, outbox } = await fullSetup('block');
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) sends.push(outbox.send(body(i)));
    const outcomes = await Promise.all(sends.map((s) => outcomeWithin(s, 400)));
    expect(outcomes.filter((o) => o === 'resolved').length).toBeGreaterThan(5);
    expect(outcomes.filter((o) => o === 'pending').length).toBeGreaterThan(5);
    expect(outcomes.filter((o) => o.startsWith('rejected'))).toEqual([]);

    // A blocked send can be withdrawn with its signal; nothing of it is stored.
    const ac = new AbortController();
    const withdrawn = outbox.send(body(999), { signal: ac.signal });
    ac.abort(new Error('changed my mind'));
    await expect(withdrawn).rejects.toThrow('changed my mind');

    await server.start();
    await Promise.all(sends);
    await until(async () => (await redis.llen(key)) === 30, 20_000, 'all in redis');
    await outbox.close();
    const seen = counts(await listBodies(redis, key));
    for (let i = 0; i < 30; i++) expect(seen.get(body(i))).toBe(1);
    expect(seen.has(body(999))).toBe(false);
    await sink.close();
  });

  it("'block': a send still waiting for room when close() begins rejects with OutboxClosedError", async () => {
    const { sink, outbox } = await fullSetup('block');
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) sends.push(outbox.send(body(i)).catch((e: unknown) => e));
    await until(
      async () => (await Promise.all(sends.map((s) => outcomeWithin(s, 1)))).includes('pending'),
      5000,
      'a blocked send',
    );
    await outbox.close({ timeoutMs: 100 });
    const results = await Promise.all(sends);
    expect(results.filter((r) => r instanceof OutboxClosedError).length).toBeGreaterThan(0);
    expect(results.filter((r) => r instanceof Error && !(r instanceof OutboxClosedError))).toEqual([]);
    await sink.close();
  });
});
