// Process crash: a child appends with sync 'always' from 64 concurrent appenders and reports every
// append that resolved; the parent SIGKILLs it at a random moment, KILLS times over one directory,
// each child reopening the log (taking over the dead one's lock) and continuing. The page cache
// survives a process crash, so this checks process-crash semantics (power loss is
// power-loss.test.ts). Outcomes are counted in Jepsen's words:
//   lost        acknowledged, but missing or with another body
//   recovered   never acknowledged (killed before the ack reached the parent), yet present: allowed
//   unexpected  present, but no append ever wrote it
//   duplicated  one append present twice
// Q_LOG_CRASH_KILLS changes the number of kills.
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openLog } from '@q/log';
import { describe, expect, it } from 'vitest';
import { type AppendId, parseCrashBody } from './fixtures/crash-body.js';

const worker = fileURLToPath(new URL('./fixtures/crash-appender.ts', import.meta.url));
const root = fileURLToPath(new URL('../../..', import.meta.url));
const KILLS = Number(process.env.Q_LOG_CRASH_KILLS ?? 20);
const APPENDERS = 64;

interface Ready {
  ready: true;
  nextSeq: number;
  firstSeq: number;
  recovery: unknown;
}

/** Starts one generation and resolves with it once the log is open. */
function start(
  dir: string,
  gen: number,
  onAcks: (acks: number[]) => void,
  onReady: (ready: Ready) => void,
): Promise<ChildProcess> {
  const child = fork(worker, [JSON.stringify({ dir, gen, appenders: APPENDERS })], {
    cwd: root,
    execArgv: ['--conditions=@q/source', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.on('message', (m) => {
      const message = m as Ready | { acks: number[] };
      if ('acks' in message) onAcks(message.acks);
      else {
        // Checked here, not after the await: acks of this generation may be handled before that runs.
        onReady(message);
        resolve(child);
      }
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`generation ${gen} exited before it was ready: ${code ?? signal}`)),
    );
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const key = (id: AppendId): string => `${id.gen}.${id.appender}.${id.counter}`;

describe('SegmentLog through SIGKILL', () => {
  it(`64 appenders with sync 'always', SIGKILLed ${KILLS} times: every acknowledged record present once, in order, with its body`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'q-log-crash-'));
    /** seq → the append the parent saw acknowledged with it. */
    const acked = new Map<number, AppendId>();
    const generations: Ready[] = [];
    const problems: string[] = [];
    let highest = -1;
    try {
      for (let gen = 0; gen < KILLS; gen++) {
        const child = await start(
          dir,
          gen,
          (acks) => {
            for (let i = 0; i < acks.length; i += 3) {
              const seq = acks[i] as number;
              if (acked.has(seq)) problems.push(`seq ${seq} acknowledged twice`);
              acked.set(seq, { gen, appender: acks[i + 1] as number, counter: acks[i + 2] as number });
              highest = Math.max(highest, seq);
            }
          },
          (ready) => {
            generations.push(ready);
            // Whatever was acknowledged before this open must be below what the open found.
            if (ready.nextSeq <= highest)
              problems.push(`gen ${gen} opened at nextSeq ${ready.nextSeq}, acked up to ${highest}`);
          },
        );
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        await sleep(20 + Math.random() * 250);
        child.kill('SIGKILL');
        await exited;
      }

      // The parent opens last: the dead child's lock must be taken over.
      const log = await openLog({ dir, sync: 'always' });
      const present = new Map<string, number>();
      const counts = { lost: 0, recovered: 0, unexpected: 0, duplicated: 0 };
      const cut = generations.filter((r) => (r.recovery as { truncatedBytes?: number }).truncatedBytes).length;
      /** gen.appender → counters found, in seq order. */
      const perAppender = new Map<string, number[]>();
      let expectSeq = log.firstSeq;
      try {
        expect(log.firstSeq).toBe(0);
        for (;;) {
          const batch = await log.read(expectSeq, { max: 4096 });
          if (batch.length === 0) break;
          for (const r of batch) {
            if (r.seq !== expectSeq) problems.push(`seq ${r.seq} where ${expectSeq} was next`);
            expectSeq = r.seq + 1;
            const id = parseCrashBody(r.body.toString());
            if (!id) {
              counts.unexpected++;
              problems.push(`seq ${r.seq}: a body no append wrote (${JSON.stringify(r.body.toString().slice(0, 40))})`);
              continue;
            }
            if (present.has(key(id))) {
              counts.duplicated++;
              problems.push(`append ${key(id)} at seq ${present.get(key(id))} and ${r.seq}`);
            }
            present.set(key(id), r.seq);
            const mine = acked.get(r.seq);
            if (!mine) counts.recovered++;
            else if (key(mine) !== key(id)) problems.push(`seq ${r.seq} holds ${key(id)}, acked as ${key(mine)}`);
            const list = perAppender.get(`${id.gen}.${id.appender}`) ?? [];
            list.push(id.counter);
            perAppender.set(`${id.gen}.${id.appender}`, list);
          }
        }
        expect(expectSeq).toBe(log.nextSeq);
      } finally {
        await log.close();
      }
      for (const [seq, id] of acked) {
        if (present.get(key(id)) !== seq) {
          counts.lost++;
          if (counts.lost <= 10) problems.push(`lost: ${key(id)} acked at seq ${seq}`);
        }
      }
      // One appender awaits each append before the next: its counters on disk are 0..k, in seq order.
      for (const [who, counters] of perAppender) {
        if (counters.some((c, i) => c !== i)) problems.push(`appender ${who} wrote counters ${counters.slice(0, 20)}`);
      }
      console.log(
        `${KILLS} kills (${cut} reopens cut a torn tail), ${expectSeq} records, ${acked.size} acknowledged: lost ${counts.lost}, recovered ${counts.recovered}, unexpected ${counts.unexpected}, duplicated ${counts.duplicated}`,
      );
      expect(acked.size).toBeGreaterThan(KILLS);
      expect(counts).toEqual({ lost: 0, recovered: counts.recovered, unexpected: 0, duplicated: 0 });
      expect(problems).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
