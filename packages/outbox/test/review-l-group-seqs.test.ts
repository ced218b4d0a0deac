// Review L (pin, passing): f2eda70 gives each LogWriter entry only its first seq. In one group: a spill's
// fixed seqs, fresh batches and single sends, with and without a counter, and through the fallback that
// re-appends entry by entry when the log refuses one record: every send resolves with the seqs its
// records carry in the log.
import { openLog, type SegmentLog } from '@q/log';
import { describe, expect, it } from 'vitest';
import { LogWriter } from '../src/log-writer.js';
import { type Accepted, acceptBody, seqOf } from '../src/message.js';
import { SequenceCounter } from '../src/sequence.js';
import { BacklogMeter } from '../src/stats.js';
import { tempDir } from './support/fixtures.js';

const msg = (s: string): Accepted => acceptBody(s, 1024 * 1024);
const bad: Accepted = { ...acceptBody('bad', 1024 * 1024), headers: { big: 'x'.repeat(70_000) } };

async function stored(log: SegmentLog): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const r of await log.read(0)) out[r.body.toString()] = seqOf(r);
  return out;
}

describe('review L: LogWriter seqs per entry', () => {
  for (const withCounter of [true, false])
    for (const withBad of [false, true])
      it(`counter ${withCounter}, a refused record ${withBad}`, async () => {
        const dir = tempDir('review-l-seqs');
        const log = await openLog({ dir });
        await log.appendBatch(['pre-0', 'pre-1', 'pre-2']);
        const counter = withCounter ? await SequenceCounter.open(dir, log.nextSeq + 10, true) : undefined;
        const writer = new LogWriter(log, counter, new BacklogMeter(), Number.POSITIVE_INFINITY, () => undefined);
        const results: Promise<unknown>[] = [];
        const names: string[][] = [];
        const add = (n: string[], p: Promise<unknown>): void => {
          names.push(n);
          results.push(p);
        };
        if (withCounter)
          add(
            [],
            writer.appendWithSeqs([
              { accepted: msg('fix-a'), seq: 5 },
              { accepted: msg('fix-b'), seq: 9 },
            ]),
          );
        add(['b1', 'b2', 'b3'], writer.append([msg('b1'), msg('b2'), msg('b3')], undefined));
        add(
          ['one'],
          writer.appendOne(
            msg('one'),
            undefined,
            (seq) => seq,
            async (err) => Promise.reject(err),
          ),
        );
        if (withBad) add(['bad'], writer.append([bad], undefined));
        add(['c1', 'c2'], writer.append([msg('c1'), msg('c2')], undefined));
        const settled = await Promise.allSettled(results);
        const seqs = await stored(log);
        await log.close();
        await counter?.idle();
        if (withCounter) {
          expect(seqs['fix-a']).toBe(5);
          expect(seqs['fix-b']).toBe(9);
        }
        for (const [i, n] of names.entries()) {
          const s = settled[i] as PromiseSettledResult<unknown>;
          if (n.length === 0 || n[0] === 'bad') {
            expect(s.status).toBe(n.length === 0 ? 'fulfilled' : 'rejected');
            continue;
          }
          expect(s.status).toBe('fulfilled');
          const got = (s as PromiseFulfilledResult<unknown>).value;
          for (const b of n) expect(Number.isSafeInteger(seqs[b])).toBe(true);
          expect(Array.isArray(got) ? got : [got]).toEqual(n.map((b) => seqs[b]));
        }
      });
});
