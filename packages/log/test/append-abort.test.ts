// append({ signal }): an abort withdraws an append still waiting for its group (nothing stored, rejects
// with the signal's reason); once its group is being written the abort is ignored and the append settles
// as the write does. So a rejection with the abort reason always means "not stored" (review finding: an
// abort after the group was taken rejected, yet the record was stored, and a retry duplicated it).
import { openLog } from '@q/log';
import { describe, expect, it } from 'vitest';
import { silent, tempLogDir } from './support/log-dir.js';

describe('append with a signal', () => {
  it('aborted after its group was taken: resolves with its seq, and it is stored once', async () => {
    const dir = tempLogDir();
    const log = await openLog({ dir, sync: 'always', logger: silent });
    const ac = new AbortController();
    const p = log.append('maybe', { signal: ac.signal });
    // The writer takes the request into a group within a few microtask turns, before any I/O returns.
    for (let i = 0; i < 5; i++) await Promise.resolve();
    ac.abort(new Error('caller gave up'));
    await expect(p).resolves.toBe(0);
    expect((await log.read(0)).map((r) => r.body.toString())).toEqual(['maybe']);
    await log.close();
  });

  it('aborted while waiting for room (whenFull: block): rejects with the reason and nothing is stored', async () => {
    const dir = tempLogDir();
    const log = await openLog({
      dir,
      sync: 'always',
      segmentBytes: 2048,
      maxBytes: 4096,
      whenFull: 'block',
      logger: silent,
    });
    const cursor = await log.cursor('c');
    let seq = 0;
    for (; seq < 100; seq++) {
      const p = log.append(Buffer.alloc(200, seq));
      const done = await Promise.race([p.then(() => true), new Promise((r) => setTimeout(() => r(false), 200))]);
      if (!done) {
        // Blocked: the log is full. A second append behind it is aborted while waiting.
        const ac = new AbortController();
        const waiting = log.append('withdrawn', { signal: ac.signal });
        ac.abort(new Error('gave up waiting'));
        await expect(waiting).rejects.toThrow('gave up waiting');
        // Room returns: the first blocked append goes through; the withdrawn one never appears.
        await cursor.commit(seq);
        await log.applyRetention();
        await expect(p).resolves.toBe(seq);
        break;
      }
    }
    expect(seq).toBeLessThan(100);
    const last = await log.append('after');
    expect(last).toBe(seq + 1);
    const bodies = (await log.read(seq, { max: 10 })).map((r) => r.body.toString());
    expect(bodies).not.toContain('withdrawn');
    expect(bodies[bodies.length - 1]).toBe('after');
    await log.close();
  });
});
