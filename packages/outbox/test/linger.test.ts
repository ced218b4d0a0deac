// lingerMs: a busy forwarder pushes at most once per lingerMs while less than a full batch waits, and
// the first message after a quiet spell goes at once. Real redis-server, every message counted.
import { describe, expect, it } from 'vitest';
import { Outbox } from '../src/index.js';
import { counts, listBodies, redisSink, silentLogger, tempDir } from './support/fixtures.js';

/** A real Redis sink whose pushes are timed (the sink is ours; the client underneath is real). */
function timedSink() {
  const s = redisSink();
  const pushes: { at: number; n: number }[] = [];
  const pushBatch = s.sink.pushBatch.bind(s.sink);
  s.sink.pushBatch = (messages, info) => {
    pushes.push({ at: performance.now(), n: messages.length });
    return pushBatch(messages, info);
  };
  return { ...s, pushes };
}

describe('lingerMs', () => {
  it('under load, pushes start at least lingerMs apart and carry many messages; each message once in the list', async () => {
    const { sink, redis, key, pushes } = timedSink();
    const outbox = new Outbox({ dir: tempDir('linger'), sink, logger: silentLogger, lingerMs: 100 });
    await outbox.ready();
    const n = 3000;
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < n) await outbox.send(`m${next++}`);
      }),
    );
    await outbox.close({ timeoutMs: 5000 });
    const bodies = await listBodies(redis, key);
    expect(bodies.length).toBe(n);
    expect([...counts(bodies).values()].every((c) => c === 1)).toBe(true);
    expect(pushes.reduce((a, p) => a + p.n, 0)).toBe(n);
    for (let i = 1; i < pushes.length; i++)
      expect(
        (pushes[i] as { at: number }).at - (pushes[i - 1] as { at: number }).at,
        `push ${i}`,
      ).toBeGreaterThanOrEqual(99);
    await sink.close();
    await redis.quit();
  });

  it('the first message after a quiet spell goes at once; one right behind it waits out lingerMs', async () => {
    const { sink, redis, key, pushes } = timedSink();
    const outbox = new Outbox({ dir: tempDir('linger'), sink, logger: silentLogger, lingerMs: 1000 });
    await outbox.ready();
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    await outbox.send('first');
    while ((await redis.llen(key)) < 1) await new Promise((r) => setTimeout(r, 5));
    const firstArrived = performance.now() - t0;
    expect(firstArrived).toBeLessThan(800);
    await outbox.send('second');
    while ((await redis.llen(key)) < 2) await new Promise((r) => setTimeout(r, 5));
    expect(pushes).toHaveLength(2);
    expect((pushes[1] as { at: number }).at - (pushes[0] as { at: number }).at).toBeGreaterThanOrEqual(999);
    await outbox.close({ timeoutMs: 5000 });
    expect(await listBodies(redis, key)).toEqual(['first', 'second']);
    await sink.close();
    await redis.quit();
  });
});
