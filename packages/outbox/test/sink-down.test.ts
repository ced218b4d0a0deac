import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { Outbox } from '../src/index.js';
import {
  counts,
  failFastClient,
  listBodies,
  ownRedis,
  recordingLogger,
  redisSink,
  sendMany,
  tempDir,
} from './support/fixtures.js';

describe('the sink goes down, then comes back', () => {
  for (const mode of ['write-ahead', 'direct-first'] as const) {
    it(`${mode}: the backlog grows on disk, sink-down and sink-up are told once each, everything arrives once`, async () => {
      const server = await ownRedis();
      const redis = failFastClient(server.url);
      await until(() => redis.status === 'ready', 10_000, 'redis ready');
      const { sink, key } = redisSink({ redis });
      const logger = recordingLogger();
      const outbox = new Outbox({
        dir: tempDir(),
        sink,
        mode,
        logger,
        directTimeoutMs: 3000, // the stopped server fails pushes at once; no timeout on a slow moment
        retry: { minDelayMs: 20, maxDelayMs: 200 },
      });
      const events: string[] = [];
      outbox.on('sink-down', () => events.push('down'));
      outbox.on('sink-up', ({ downMs }) => events.push(`up after ${downMs > 0 ? 'some' : 'no'} time`));
      outbox.on('spill', ({ reason }) => events.push(`spill ${reason}`));

      const before = await sendMany(outbox, 'a', 300, 4);
      await until(async () => (await redis.llen(key)) === 300, 10_000, 'first part in the list');

      await server.stop();
      const during = await sendMany(outbox, 'b', 1500, 8);
      await until(() => outbox.stats().sink === 'down', 10_000, 'sink seen down');
      const down = outbox.stats();
      expect(down.backlogMessages).toBeGreaterThan(0);
      expect(down.backlogBytes).toBeGreaterThan(0);
      expect(down.oldestAgeMs).toBeGreaterThanOrEqual(0);
      expect(down.route).toBe('log');
      await new Promise((r) => setTimeout(r, 300)); // several failed retries while down

      await server.start();
      const after = await sendMany(outbox, 'c', 300, 4);
      await until(async () => redis.status === 'ready' && (await redis.llen(key)) >= 2100, 20_000, 'everything');
      await until(() => outbox.stats().backlogMessages === 0, 10_000, 'backlog drained');
      if (mode === 'direct-first') await until(() => outbox.stats().route === 'direct', 10_000, 'direct again');
      await outbox.close();

      const seen = counts(await listBodies(redis, key));
      expect(seen.size).toBe(2100);
      for (const part of [before, during, after]) for (const body of part.keys()) expect(seen.get(body), body).toBe(1);
      expect(events.filter((e) => e === 'down')).toEqual(['down']);
      expect(events.filter((e) => e.startsWith('up'))).toEqual(['up after some time']);
      expect(events.indexOf('down')).toBeLessThan(events.findIndex((e) => e.startsWith('up')));
      if (mode === 'direct-first') expect(events.filter((e) => e.startsWith('spill')).length).toBeGreaterThan(0);
      // Logged once per change, not once per failed retry.
      expect(logger.lines.filter((l) => l.message.includes('sink is down')).length).toBe(1);
      expect(logger.lines.filter((l) => l.message.includes('sink is up')).length).toBe(1);
      const s = outbox.stats();
      expect(s.accepted).toBe(2100);
      expect(s.backlogBytes).toBe(0);
      expect(s.oldestAgeMs).toBe(0);
      await sink.close();
    });
  }
});
