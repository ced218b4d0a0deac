import { join } from 'node:path';
import { openLog, type SegmentLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { delay, until } from '../../../test-support/wait.js';
import { HttpDeliverer } from '../src/deliverer/http-deliverer.js';
import { DeliveryClosedError, ReplayRangeError } from '../src/delivery/errors.js';
import { startTarget, type Target, tempDir } from './deliverer-target.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function append(log: SegmentLog, target: Target, from: number, count: number): Promise<void> {
  const batch = [];
  for (let seq = from; seq < from + count; seq++) {
    const headers: Record<string, string> = { 'q-url': target.url('/live') };
    if (seq % 4 === 0) headers['q-key'] = `k${seq % 10}`;
    batch.push({ body: JSON.stringify({ seq }), headers });
  }
  await log.appendBatch(batch);
}

async function setup(prefix: string, logOptions: { segmentBytes?: number; maxAgeMs?: number } = {}) {
  const tmp = await tempDir(prefix);
  cleanups.push(() => tmp.remove());
  const live = await startTarget();
  cleanups.push(() => live.close());
  const other = await startTarget();
  cleanups.push(() => other.close());
  const log = await openLog({ dir: join(tmp.dir, 'log'), ...logOptions });
  cleanups.push(() => log.close());
  const deliverer = new HttpDeliverer({
    log,
    deadLetterDir: join(tmp.dir, 'dead-letter'),
    engine: { concurrency: 8, timeoutMs: 5_000, retry: { minDelayMs: 5, maxDelayMs: 50 } },
  });
  cleanups.push(() => deliverer.close());
  return { tmp, live, other, log, deliverer };
}

describe('HttpDeliverer.replay', () => {
  it('re-sends exactly [from, to] to another URL while live delivery goes on; the live cursor never moves back', async () => {
    const { live, other, log, deliverer } = await setup('q-http-replay-');
    await append(log, live, 0, 2_000);
    await deliverer.start();
    await until(() => deliverer.stats().cursor === 2_000, 30_000, 'live delivery of the first 2,000');

    const positions: number[] = [];
    let watching = true;
    const watch = (async () => {
      while (watching) {
        positions.push(deliverer.stats().cursor);
        await delay(2);
      }
    })();
    const replay = deliverer.replay({ from: 500, to: 1_499, url: other.url('/replay') });
    await append(log, live, 2_000, 1_000);
    const result = await replay;
    expect(result).toEqual({ from: 500, to: 1_499, delivered: 1_000, deadLettered: 0 });
    await until(() => deliverer.stats().cursor === 3_000, 30_000, 'live delivery of the rest');
    watching = false;
    await watch;

    expect(Math.min(...positions)).toBe(2_000);
    for (let i = 1; i < positions.length; i++) expect(positions[i]).toBeGreaterThanOrEqual(positions[i - 1] as number);
    // The replay's target got exactly the range, once each, with the records' own ids and bodies.
    const replayed = other.received.map((r) => r.id);
    expect(replayed.length).toBe(1_000);
    expect(new Set(replayed)).toEqual(new Set(Array.from({ length: 1_000 }, (_, i) => `q_${500 + i}`)));
    for (const r of other.received) {
      expect(r.path).toBe('/replay');
      expect(JSON.parse(r.body)).toEqual({ seq: Number((r.id as string).slice(2)) });
    }
    // The live target got every record once: the replay sent nothing to it.
    expect(live.received.length).toBe(3_000);
    for (let seq = 0; seq < 3_000; seq++) expect(live.okCount(`q_${seq}`)).toBe(1);
    const stats = deliverer.stats();
    expect(stats.delivered).toBe(4_000);
    expect((await log.cursor('http')).position).toBe(3_000);
    // The replay's own cursor, parked once it finished, follows the live one (it holds no retention back).
    const replayCursor = await log.cursor('replay-1');
    await until(() => replayCursor.position === 3_000, 10_000, 'the parked replay cursor following the live one');

    // `to` defaults to the last seq at the call; each record goes to its own URL without `url`.
    const tail = await deliverer.replay({ from: 2_990 });
    expect(tail).toEqual({ from: 2_990, to: 2_999, delivered: 10, deadLettered: 0 });
    expect(live.received.length).toBe(3_010);
    expect(live.okCount('q_2995')).toBe(2);
    await deliverer.close();
    expect((await log.cursor('http')).position).toBe(3_000);
  }, 60_000);

  it('refuses a range past the end (or below the first stored seq, or reversed) with ReplayRangeError, never a skip', async () => {
    const { live, log, deliverer } = await setup('q-http-replay-range-', { segmentBytes: 1024, maxAgeMs: 1 });
    // Small batches: a segment rolls between appends, so retention has sealed segments to delete.
    for (let from = 0; from < 200; from += 10) await append(log, live, from, 10);
    await expect(deliverer.replay({ from: 0 })).rejects.toThrow(/start\(\)/);
    await deliverer.start();
    await until(() => deliverer.stats().cursor === 200, 30_000, 'live delivery');
    const sent = live.received.length;

    const refused = async (options: { from: number; to?: number }) => {
      const err = await deliverer.replay(options).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ReplayRangeError);
      expect((err as ReplayRangeError).code).toBe('Q_HTTP_REPLAY_RANGE');
      return err as ReplayRangeError;
    };
    expect((await refused({ from: 200 })).range).toMatchObject({ from: 200, lastSeq: 199 });
    await refused({ from: 10_000 });
    await refused({ from: 150, to: 149 });
    await refused({ from: 150, to: 200 });
    // Retention deletes the sealed segments (maxAgeMs 1): replaying below the first stored seq is refused.
    await delay(10);
    await log.applyRetention();
    expect(log.firstSeq).toBeGreaterThan(0);
    await refused({ from: log.firstSeq - 1 });
    await expect(deliverer.replay({ from: -1 })).rejects.toMatchObject({ code: 'Q_INVALID_OPTION' });
    await expect(deliverer.replay({ from: 190, url: 'ftp://x/' })).rejects.toMatchObject({ code: 'Q_INVALID_OPTION' });
    // Nothing was sent by a refused replay.
    expect(live.received.length).toBe(sent);

    const ok = await deliverer.replay({ from: log.firstSeq, to: log.firstSeq });
    expect(ok.delivered).toBe(1);
    await deliverer.close();
    await expect(deliverer.replay({ from: 199 })).rejects.toBeInstanceOf(DeliveryClosedError);
  });

  it('rejects a running replay with DeliveryClosedError when the deliverer closes, and with the reason when aborted', async () => {
    const { live, log, deliverer } = await setup('q-http-replay-stop-');
    await append(log, live, 0, 50);
    await deliverer.start();
    await until(() => deliverer.stats().cursor === 50, 30_000, 'live delivery');
    // A target that never answers keeps the replays running.
    const hanging = await startTarget({ faults: { hang: 1 } });
    cleanups.push(() => hanging.close());
    const controller = new AbortController();
    const aborted = deliverer.replay({ from: 0, url: hanging.url('/a'), signal: controller.signal });
    const closed = deliverer.replay({ from: 0, url: hanging.url('/b') }).then(
      () => 'resolved',
      (e: unknown) => e,
    );
    await until(() => hanging.received.length > 0, 10_000, 'replays under way');
    controller.abort(new Error('enough'));
    await expect(aborted).rejects.toThrow('enough');
    await deliverer.close({ timeoutMs: 100 });
    expect(await closed).toBeInstanceOf(DeliveryClosedError);
    expect((await log.cursor('http')).position).toBe(50);
  });
});
