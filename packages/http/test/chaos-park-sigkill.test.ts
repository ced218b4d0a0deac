// Chaos with parking at the scale: 20,000 records, half of them to an endpoint that is down
// while a deliverer (park-crash-worker.ts, a window of 100, parking on) is SIGKILLed three times in a
// row mid-parking, each restart in a new process on the same directories. Then the endpoint comes up
// and a last deliverer finishes. Every record must be delivered (a 2xx seen by a target) at least once,
// none dead-lettered; duplicates are counted against a stated bound. Half the records of each endpoint
// have a key (40 keys each): keyed records are parked a key's line at a time, the parked keys are counted
// again at each restart, and each key's records must first arrive in their order.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { openLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { forkWorker } from '../../../test-support/fork-worker.js';
import { until } from '../../../test-support/wait.js';
import { HttpDeliverer } from '../src/deliverer/http-deliverer.js';
import { deadUrl, firstArrivalsByKey, reviveOn, startTarget, tempDir } from './deliverer-target.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const WORKER = new URL('./park-crash-worker.ts', import.meta.url).pathname;
const TOTAL = 20_000;
const KILLS = 3;
/** Each worker is killed once it parked this many (a third of the down endpoint's records). */
const PARKED_AT_KILL = 1_500;

/** The key of record `seq`: every other record of each endpoint (`d*` down, `l*` live), 40 keys each. */
function keyOf(seq: number): string | undefined {
  if (seq % 4 > 1) return undefined;
  return `${seq % 4 === 0 ? 'd' : 'l'}${(seq >> 2) % 40}`;
}

describe('chaos: parking through SIGKILLs', () => {
  it(`${TOTAL} records, half to a down endpoint, the parking deliverer SIGKILLed ${KILLS} times: every record delivered, none dead-lettered`, async () => {
    const tmp = await tempDir('q-http-chaos-park-');
    cleanups.push(() => tmp.remove());
    const live = await startTarget();
    cleanups.push(() => live.close());
    const down = await deadUrl('/down');
    const dirs = [join(tmp.dir, 'log'), join(tmp.dir, 'dead-letter'), join(tmp.dir, 'parked')];
    const writer = await openLog({ dir: dirs[0] as string });
    for (let from = 0; from < TOTAL; from += 1_000) {
      await writer.appendBatch(
        Array.from({ length: 1_000 }, (_, k) => ({
          body: JSON.stringify({ seq: from + k }),
          headers: {
            'q-url': (from + k) % 2 === 0 ? down : live.url('/live'),
            ...(keyOf(from + k) === undefined ? {} : { 'q-key': keyOf(from + k) as string }),
          },
        })),
      );
    }
    await writer.close();

    const parkedAtKills: number[] = [];
    const readAheadAtKills: number[] = [];
    const readAheadMaxes: number[] = [];
    for (let kill = 0; kill < KILLS; kill++) {
      const child: ChildProcess = await forkWorker(WORKER, dirs);
      let parked = 0;
      let readAhead = 0;
      let readAheadMax = 0;
      child.on('message', (m: unknown) => {
        if (typeof m !== 'object' || m === null || !('parked' in m)) return;
        ({ parked, readAhead } = m as { parked: number; readAhead: number });
        readAheadMax = Math.max(readAheadMax, readAhead);
      });
      await until(() => parked >= PARKED_AT_KILL, 60_000, `worker ${kill + 1} parking`);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      parkedAtKills.push(parked);
      readAheadAtKills.push(readAhead);
      readAheadMaxes.push(readAheadMax);
    }

    const revived = await reviveOn(Number(new URL(down).port));
    cleanups.push(() => revived.close());
    const log = await openLog({ dir: dirs[0] as string });
    cleanups.push(() => log.close());
    const deliverer = new HttpDeliverer({
      log,
      deadLetterDir: dirs[1] as string,
      parkDir: dirs[2] as string,
      maxUnfinished: 1_000,
      engine: { concurrency: 16, retry: { maxAttempts: 1_000_000, minDelayMs: 20, maxDelayMs: 100 } },
    });
    cleanups.push(() => deliverer.close());
    await deliverer.start();
    const count = (id: string): number => live.okCount(id) + revived.okCount(id);
    const missing = (): number => {
      let n = 0;
      for (let seq = 0; seq < TOTAL; seq++) if (count(`q_${seq}`) === 0) n++;
      return n;
    };
    await until(() => missing() === 0, 90_000, 'every record delivered');
    await until(
      () => deliverer.stats().cursor === TOTAL && deliverer.stats().parkedBacklog === 0,
      20_000,
      'both cursors at the end',
    );
    expect(deliverer.stats().deadLetters).toBe(0);
    const liveOk = live.received.filter((r) => r.fault === 'ok').map((r) => r.id as string);
    const byKey = [...firstArrivalsByKey(liveOk, keyOf), ...firstArrivalsByKey(revived.order, keyOf)];
    expect(byKey.length).toBe(80);
    for (const [key, seqs] of byKey) expect(seqs, `key ${key}`).toEqual([...seqs].sort((a, b) => a - b));
    let duplicates = 0;
    let liveDuplicates = 0;
    for (let seq = 0; seq < TOTAL; seq++) {
      const extra = Math.max(0, count(`q_${seq}`) - 1);
      duplicates += extra;
      if (seq % 2 === 1) liveDuplicates += extra;
    }
    console.log(
      `chaos park: duplicates on the live endpoint ${liveDuplicates}, on the revived one ${duplicates - liveDuplicates}`,
    );
    console.log(
      `chaos park: parked ${parkedAtKills.join(', ')} before the kills; ${TOTAL} records, ${missing()} missing, ${duplicates} delivered more than once`,
    );
    // What a kill may send again: the records read past the committed cursors (stats().readAhead), as the
    // worker last reported it (5 ms before the kill at most); bounded here by the most it reported.
    const bound = readAheadMaxes.reduce((a, b) => a + b, 0);
    console.log(
      `chaos park: read ahead at the kills ${readAheadAtKills.join(', ')} (most ${readAheadMaxes.join(', ')}): bound ${bound}`,
    );
    expect(duplicates).toBeLessThanOrEqual(bound);
  }, 180_000);
});
