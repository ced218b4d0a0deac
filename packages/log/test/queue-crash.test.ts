// A worker consuming a log through a Queue (fixtures/queue-worker.ts) is SIGKILLed at random moments
// and restarted on the same directory. At-least-once: every appended record is handled at least
// once; a restart starts at the cursor's last durable commit, which is at or past the last commit
// the worker reported, so what is handled twice is only what was handled at or past that commit.
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openLog } from '@q/log';
import { describe, expect, it } from 'vitest';

const worker = fileURLToPath(new URL('./fixtures/queue-worker.ts', import.meta.url));
const root = fileURLToPath(new URL('../../..', import.meta.url));
const N = 20_000;
const KILLS = 5;

type Report = { ready: true; position: number } | { handled: number } | { commit: number };

function start(
  dir: string,
  onReport: (r: Exclude<Report, { ready: true }>) => void,
): Promise<{ child: ChildProcess; position: number }> {
  const child = fork(worker, [JSON.stringify({ dir })], {
    cwd: root,
    execArgv: ['--conditions=@q/source', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.on('message', (m) => {
      const r = m as Report;
      if ('ready' in r) resolve({ child, position: r.position });
      else onReport(r);
    });
    child.once('exit', (code, signal) => reject(new Error(`worker exited before it was ready: ${code ?? signal}`)));
  });
}

describe('logProducerFactory through SIGKILL', () => {
  it(`a worker killed ${KILLS} times: every record handled, and only records at or past the last reported commit handled again`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'q-log-queue-crash-'));
    try {
      const log = await openLog({ dir, sync: 'always' });
      for (let i = 0; i < N; i += 1000) {
        await log.appendBatch(Array.from({ length: 1000 }, (_, k) => `record ${i + k}`));
      }
      await log.close();
      const handledBefore = new Set<number>();
      let reportedCommit = 0;
      let duplicates = 0;
      let killedMidway = 0;
      const problems: string[] = [];
      for (let gen = 0; gen <= KILLS && handledBefore.size < N; gen++) {
        const handledNow = new Set<number>();
        let commitNow = reportedCommit;
        const { child, position } = await start(dir, (r) => {
          if ('handled' in r) handledNow.add(r.handled);
          else if ('commit' in r) commitNow = Math.max(commitNow, r.commit);
        });
        if (position < reportedCommit)
          problems.push(`gen ${gen} started at ${position} below the reported commit ${reportedCommit}`);
        for (let seq = 0; seq < position; seq++) {
          if (!handledBefore.has(seq)) problems.push(`gen ${gen} starts at ${position}, seq ${seq} was never handled`);
        }
        // What this generation may handle again: what earlier ones handled at or past the reported commit.
        const bound = [...handledBefore].filter((seq) => seq >= reportedCommit).length;
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        const fresh = () => [...handledNow].filter((s) => !handledBefore.has(s)).length;
        if (gen < KILLS) {
          // Killed after a random share of what is left, counted from the worker's own reports (not
          // after a random time: under load a worker may not have started, or may already be done).
          const left = N - handledBefore.size;
          const target = Math.max(1, Math.floor((left / (KILLS - gen + 1)) * (0.2 + 0.6 * Math.random())));
          const deadline = Date.now() + 30_000;
          while (fresh() < target) {
            if (Date.now() > deadline) throw new Error(`gen ${gen} handled ${fresh()} of ${target} in 30 s`);
            await new Promise((r) => setTimeout(r, 5));
          }
        } else {
          const deadline = Date.now() + 30_000;
          while (handledBefore.size + fresh() < N) {
            if (Date.now() > deadline) throw new Error('the last generation did not finish');
            await new Promise((r) => setTimeout(r, 20));
          }
        }
        child.kill('SIGKILL');
        await exited;
        const again = [...handledNow].filter((seq) => handledBefore.has(seq));
        for (const seq of again)
          if (seq < reportedCommit) problems.push(`gen ${gen} handled ${seq} again, below ${reportedCommit}`);
        if (again.length > bound)
          problems.push(`gen ${gen} handled ${again.length} again, more than the ${bound} bound`);
        duplicates += again.length;
        for (const seq of handledNow) handledBefore.add(seq);
        reportedCommit = commitNow;
        if (gen < KILLS && handledBefore.size < N) killedMidway++;
      }
      expect(problems).toEqual([]);
      // The kills came while records were still being handled, not after the work was done.
      expect(killedMidway).toBeGreaterThanOrEqual(3);
      expect(handledBefore.size).toBe(N);
      expect([...handledBefore].every((seq) => Number.isInteger(seq) && seq >= 0 && seq < N)).toBe(true);
      // Duplicates are bounded per kill by what was handled since the last commit, not by N.
      expect(duplicates).toBeLessThan(N);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
