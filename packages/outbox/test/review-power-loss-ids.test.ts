// Review finding: in write-ahead without a SEQ file a message's id is its log seq, and with
// sync { intervalMs } (or 'none') the forwarder pushes records the log counts as durable before they
// are synced. A power cut after the sink took such a batch, before the forward cursor's commit was on
// disk, loses the unsynced tail: the log restarts at a seq the sink has already seen, so the next
// messages, fsync'd and acknowledged after the restart, get ids at or below Redis' high-water mark
// and are dropped there for good.
// Power loss by file surgery, as @q/log's power-loss.test.ts does: the last segment cut back to what
// had been synced (its header: no interval sync ran), the cursor file as it was before the push.
import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { Outbox } from '../src/index.js';
import { listBodies, redisSink, silentLogger, tempDir } from './support/fixtures.js';

function onlySegment(dir: string): string {
  const segs = readdirSync(join(dir, 'segments')).filter((f) => f.endsWith('.seg'));
  expect(segs).toHaveLength(1);
  return join(dir, 'segments', segs[0] as string);
}

describe('review: write-ahead, sync { intervalMs }, a power cut after a push', () => {
  it('messages acknowledged after the restart reach the sink', async () => {
    const { sink, redis, key } = redisSink();
    const dir = tempDir('review-power');
    const before = new Outbox({ dir, sink, logger: silentLogger, sync: { intervalMs: 600_000 } });
    await before.ready();
    const segment = onlySegment(dir);
    const syncedSize = statSync(segment).size; // the header, synced when the segment was made
    const cursorFile = join(dir, 'cursors', 'forward.cur');
    const cursorBefore = readFileSync(cursorFile);
    for (let i = 0; i < 10; i++) await before.send(`lost-${i}`); // in the page cache only
    await until(async () => (await redis.llen(key)) === 10, 10_000, 'first ten pushed');
    await before.close();

    // The power cut: what was not synced is gone, the cursor commit after the push did not reach the disk.
    truncateSync(segment, syncedSize);
    writeFileSync(cursorFile, cursorBefore);

    const after = new Outbox({ dir, sink, logger: silentLogger, sync: 'always' });
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await after.send(`acked-${i}`)).id); // fsync'd and acknowledged
    await until(() => after.stats().backlogMessages === 0, 10_000, 'forwarded');
    await after.close();
    const list = await listBodies(redis, key);
    await sink.close();

    for (let i = 0; i < 10; i++) expect(list, `acked-${i} (${ids[i]}) in Redis`).toContain(`acked-${i}`);
  });
});
