// Review N: in the outbox, a flipped bit in an acknowledged sendBatch whose bodies hold a run of zeros
// (binary payloads) is read by @q/log recovery as a torn last write, and the outbox's torn-batch rule
// then skips what recovery kept: the whole acknowledged batch is gone. Real redis-server.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { LogCorruptionError } from '@q/log';
import { describe, expect, it } from 'vitest';
import { Outbox } from '../src/index.js';
import { largestSegmentFile, listBodies, redisSink, silentLogger, tempDir } from './support/fixtures.js';

const body = (i: number) =>
  Buffer.concat([Buffer.from(`B${i}`), Buffer.alloc(40, 0x41 + i), Buffer.alloc(2048), Buffer.alloc(40, 0x61 + i)]);

describe('review-n: damage to an acknowledged sendBatch with zero runs in its bodies', () => {
  it('is LogCorruptionError at the next open, or every message of the batch is still forwarded', async () => {
    const dir = tempDir('review-n');
    const down = redisSink();
    await down.redis.set(down.key, 'not a list'); // WRONGTYPE: nothing is forwarded before the "crash"
    const first = new Outbox({
      dir,
      sink: down.sink,
      logger: silentLogger,
      retry: { minDelayMs: 50, maxDelayMs: 100 },
    });
    await first.send('before');
    await first.sendBatch([0, 1, 2, 3].map((i) => ({ body: body(i) }))); // acknowledged
    const copy = tempDir('review-n-copy');
    cpSync(dir, copy, { recursive: true, filter: (src) => !src.endsWith('LOCK') }); // a crash here
    await first.close({ timeoutMs: 0 });
    await down.sink.close();
    await down.redis.del(down.key);

    const file = largestSegmentFile(copy);
    const bytes = readFileSync(file);
    const at = bytes.indexOf(Buffer.from('B1'));
    expect(at).toBeGreaterThan(0);
    bytes[at + 5] = (bytes[at + 5] as number) ^ 0x01; // one flipped bit in the batch's second message
    writeFileSync(file, bytes);

    const up = redisSink({ key: down.key });
    const second = new Outbox({ dir: copy, sink: up.sink, logger: silentLogger });
    const opened = await second.ready().then(
      () => true,
      (err: unknown) => err,
    );
    if (opened !== true) {
      expect(opened).toBeInstanceOf(LogCorruptionError);
      await up.sink.close();
      return;
    }
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && second.stats().backlogMessages > 0) await new Promise((r) => setTimeout(r, 50));
    await second.close({ timeoutMs: 2000 });
    const bodies = await listBodies(up.redis, up.key);
    await up.sink.close();
    await up.redis.del(up.key, up.highWaterKey);
    // What happens: ['before'] only. Recovery cut messages 1..3 as a torn last write (message 1's own
    // zeros pass for a lost page); message 0 is then the log's last record, part 0/4 of a batch, so the
    // outbox records the batch as torn and skips it too.
    expect(bodies.length).toBe(5);
  }, 30_000);
});
