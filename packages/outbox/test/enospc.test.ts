// A real full disk: the outbox's directory on a 1 MiB tmpfs, filled up while the sink is down.
import { appendFileSync, rmSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { LogFullError } from '@q/log';
import { afterAll, describe, expect, it } from 'vitest';
import { mountSmallTmpfs } from '../../../test-support/small-tmpfs.js';
import { outcomeWithin, until } from '../../../test-support/wait.js';
import { Outbox, OutboxFullError } from '../src/index.js';
import { counts, failFastClient, listBodies, ownRedis, redisSink, silentLogger } from './support/fixtures.js';

const tmpfs = mountSmallTmpfs('q-outbox-enospc');
const mnt = tmpfs.dir;
const skipReason = tmpfs.skipReason;

afterAll(() => tmpfs.dispose());

/** Fills the filesystem with `file`, then gives back `room` bytes of it. */
function fillLeaving(file: string, room: number): void {
  const chunk = Buffer.alloc(16 * 1024, 1);
  let size = 0;
  try {
    for (;;) {
      appendFileSync(file, chunk);
      size += chunk.length;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
  truncateSync(file, Math.max(0, size - room));
}

const body = (i: number): string => `m${i}-`.padEnd(2000, 'x');

describe.skipIf(skipReason !== undefined)('ENOSPC: the disk fills up while the sink is down', () => {
  for (const whenFull of ['reject', 'block'] as const) {
    it(`'${whenFull}': ${whenFull === 'reject' ? 'OutboxFullError (cause: LogFullError from ENOSPC)' : 'the send waits until there is space'}; nothing acknowledged is lost`, async () => {
      const server = await ownRedis();
      const redis = failFastClient(server.url);
      await until(() => redis.status === 'ready', 10_000, 'redis ready');
      const { sink, key } = redisSink({ redis });
      await server.stop();
      const dir = join(mnt, whenFull);
      const filler = join(mnt, `filler-${whenFull}`);
      const outbox = new Outbox({ dir, sink, whenFull, segmentBytes: 16 * 1024, logger: silentLogger });
      await outbox.ready();
      fillLeaving(filler, 100 * 1024);
      const sent: string[] = [];
      let stuck: Promise<unknown> | undefined;
      for (let i = 0; i < 1000 && stuck === undefined; i++) {
        const send = outbox.send(body(i));
        const outcome = await outcomeWithin(send, whenFull === 'block' ? 300 : 5000);
        if (outcome === 'resolved') sent.push(body(i));
        else if (whenFull === 'reject') {
          const err = await send.catch((e: unknown) => e);
          expect(err).toBeInstanceOf(OutboxFullError);
          const cause = (err as Error).cause;
          expect(cause).toBeInstanceOf(LogFullError);
          expect(String((cause as Error).message)).toMatch(/ENOSPC|full/);
          stuck = Promise.resolve();
        } else {
          expect(outcome).toBe('pending');
          stuck = send.then(() => sent.push(body(i)));
        }
      }
      expect(stuck).toBeDefined();
      expect(sent.length).toBeGreaterThan(10);
      rmSync(filler);
      await server.start();
      await stuck;
      await until(
        async () => redis.status === 'ready' && (await redis.llen(key)) === sent.length,
        20_000,
        'every acknowledged send in redis',
      );
      await outbox.close();
      rmSync(dir, { recursive: true, force: true });
      const seen = counts(await listBodies(redis, key));
      for (const b of sent) expect(seen.get(b)).toBe(1);
      expect(seen.size).toBe(sent.length);
      await sink.close();
    });
  }
});
