import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { Outbox, type OutboxErrorStage } from '../src/index.js';
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

describe('listeners and the logger', () => {
  it('listeners that throw never break forwarding: reported on error (stage listener), the other listeners still run', async () => {
    const server = await ownRedis();
    const redis = failFastClient(server.url);
    await until(() => redis.status === 'ready', 10_000, 'redis ready');
    const { sink, key } = redisSink({ redis });
    const logger = recordingLogger();
    const outbox = new Outbox({ dir: tempDir('events'), sink, logger, retry: { minDelayMs: 10, maxDelayMs: 50 } });
    const called: string[] = [];
    outbox.on('sink-down', () => {
      throw new Error('listener bug (down)');
    });
    outbox.on('sink-down', () => called.push('down'));
    outbox.once('sink-up', () => {
      throw new Error('listener bug (up)');
    });
    outbox.on('sink-up', () => called.push('up'));
    const errors: { stage: OutboxErrorStage; message: string }[] = [];
    outbox.on('error', ({ err, stage }) => {
      errors.push({ stage, message: (err as Error).message });
      throw new Error('the error listener throws too');
    });

    await server.stop();
    const sent = await sendMany(outbox, 'e', 200, 4);
    await until(() => called.includes('down'), 10_000, 'sink-down');
    await server.start();
    await until(async () => redis.status === 'ready' && (await redis.llen(key)) === 200, 20_000, 'forwarded');
    await outbox.close();

    expect(called).toEqual(['down', 'up']);
    expect(errors).toEqual([
      { stage: 'listener', message: 'listener bug (down)' },
      { stage: 'listener', message: 'listener bug (up)' },
    ]);
    expect(outbox.listenerCount('sink-up')).toBe(1); // the once listener was removed
    const seen = counts(await listBodies(redis, key));
    for (const b of sent.keys()) expect(seen.get(b)).toBe(1);
    expect(logger.lines.filter((l) => l.message === 'outbox: an error listener threw').length).toBe(2);
    await sink.close();
  });

  it('without an error listener, a throwing listener goes to the logger', async () => {
    const { sink } = redisSink();
    const logger = recordingLogger();
    const outbox = new Outbox({ dir: tempDir('events'), sink, mode: 'direct-first', logger });
    outbox.on('spill', () => {
      throw new Error('never called: nothing spills');
    });
    await outbox.send('x');
    await outbox.close();
    expect(logger.lines.filter((l) => l.level === 'error')).toEqual([]);
  });
});
