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

describe('one signal shared by many appends and readers', () => {
  it('adds one listener to it, not one per append or per waiting reader (no MaxListenersExceededWarning)', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(`${w.name}: ${w.message}`);
    };
    process.on('warning', onWarning);
    try {
      const log = await openLog({ dir: tempLogDir(), sync: 'always', logger: silent });
      const ac = new AbortController();
      const readers = Array.from({ length: 12 }, () => log.reader({ from: 0, signal: ac.signal }));
      const reading = readers.map(async (r) => {
        let n = 0;
        for await (const _ of r) n++;
        return n;
      });
      const seqs = await Promise.all(Array.from({ length: 30 }, (_, i) => log.append(`r${i}`, { signal: ac.signal })));
      expect(seqs).toEqual(Array.from({ length: 30 }, (_, i) => i));
      // Let the readers catch up and wait again, then end them all with the one signal.
      await new Promise((r) => setTimeout(r, 50));
      ac.abort();
      expect(await Promise.all(reading)).toEqual(Array(12).fill(30));
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.includes('MaxListeners'))).toEqual([]);
      await log.close();
    } finally {
      process.off('warning', onWarning);
    }
  });
});
