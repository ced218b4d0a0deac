// SIGKILL x3 with the duplicate bound of the offset map checked per kill.
// Q_OFFSET_MAP=false runs the same with `offsetMap: false` (to measure what the map saves; the bound
// is then expected to fail), Q_CRASH_MESSAGES changes the message count.
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KafkaPusher } from '@q/kafka';
import { startKafkaBroker } from '@q/kafka-testkit';
import { describe, expect, it } from 'vitest';
import { forkWorker } from '../../../test-support/fork-worker.js';
import { OffsetSkipSet } from '../src/offset-map.js';

const worker = fileURLToPath(new URL('./fixtures/offset-map-worker.ts', import.meta.url));
const total = Number(process.env.Q_CRASH_MESSAGES ?? 200_000);
const offsetMap = process.env.Q_OFFSET_MAP !== 'false';
const partitions = 4;

/** One worker process's file: finished "partition offset" ids in order, and its last accepted commit. */
interface Generation {
  finished: string[];
  /** Messages it had settled when its last accepted commit was worked out (0: none accepted). */
  settledAtCommit: number;
}

function readGeneration(file: string): Generation {
  const out: Generation = { finished: [], settledAtCommit: 0 };
  if (!existsSync(file)) return out;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    if (line.startsWith('c ')) out.settledAtCommit = Number(line.slice(2));
    else out.finished.push(line);
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('KafkaQueue offset map through crashes', () => {
  it(`a key-mode worker SIGKILLed 3 times during ${total.toLocaleString('en')} messages: nothing lost, duplicates per kill within what was running plus what settled since the last commit`, async () => {
    const broker = await startKafkaBroker();
    const topic = `offset-map-crash-${randomUUID()}`;
    broker.cluster.createTopic(topic, partitions);
    const pusher = new KafkaPusher({ brokers: broker.bootstrap, topic, chunkBytes: 64 * 1024, flushIntervalMs: 5 });
    for (let i = 0; i < total; i++) await pusher.pushWithKey(`k${i % 101}`, `m${i}`);
    await pusher.close();
    const ends = [...Array(partitions).keys()].map((p) => broker.cluster.partition(topic, p)?.log.endOffset ?? 0n);
    const dir = mkdtempSync(join(tmpdir(), 'q-kafka-offset-map-'));
    const group = `g-${randomUUID()}`;
    const files: string[] = [];
    const kills: { handling: number; sinceCommit: number; bound: number; duplicates: number }[] = [];
    const violations: string[] = [];
    /** Every id finished so far, over all generations. */
    const done = new Set<string>();
    try {
      for (let gen = 0; gen < 4; gen++) {
        const file = join(dir, `gen-${gen}.txt`);
        files.push(file);
        const child: ChildProcess = await forkWorker(worker, [
          JSON.stringify({ brokers: broker.bootstrap, group, topic, file, offsetMap }),
        ]);
        let last = { handling: 0, finished: 0 };
        child.on('message', (m) => {
          if (typeof m === 'object' && m !== null) last = m as typeof last;
        });
        const exited = new Promise((r) => child.once('exit', r));
        if (gen < 3) {
          // Kill somewhere in the middle of this generation's share of the work.
          const target = Math.floor((total / 4) * (0.6 + Math.random() * 0.4));
          const deadline = Date.now() + 60_000;
          while (last.finished < target && Date.now() < deadline) await sleep(10);
          child.kill('SIGKILL');
          await exited;
          const g = readGeneration(file);
          const sinceCommit = g.finished.length - g.settledAtCommit;
          kills.push({ handling: last.handling, sinceCommit, bound: last.handling + sinceCommit, duplicates: 0 });
          for (const id of g.finished) done.add(id);
          // What the broker holds must never claim unfinished work: below the commit, nor in its map.
          for (let p = 0; p < partitions; p++) {
            const c = broker.cluster.groups.committed(group, topic, p);
            if (c === undefined) continue;
            for (let o = 0n; o < c.offset; o++) if (!done.has(`${p} ${o}`)) violations.push(`p${p} ${o} below commit`);
            const map = OffsetSkipSet.decode(c.metadata, c.offset);
            map?.forEachFrom(Number(c.offset), (start, end) => {
              for (let o = start; o < end; o++) if (!done.has(`${p} ${o}`)) violations.push(`p${p} ${o} in map`);
            });
          }
        } else {
          const deadline = Date.now() + 90_000;
          const caughtUp = () =>
            ends.every((end, p) => broker.cluster.groups.committed(group, topic, p)?.offset === end);
          while (!caughtUp() && Date.now() < deadline) await sleep(50);
          child.send('stop');
          await exited;
        }
      }
      // A redelivery counts against the generation that finished the message before it.
      const lastGen = new Map<string, number>();
      let duplicates = 0;
      files.forEach((file, gen) => {
        for (const id of readGeneration(file).finished) {
          const before = lastGen.get(id);
          if (before !== undefined) {
            duplicates++;
            const kill = kills[before];
            if (kill !== undefined) kill.duplicates++;
            else violations.push(`${id} twice in the last generation`);
          }
          lastGen.set(id, gen);
        }
      });
      console.log(
        `offset map ${offsetMap ? 'on' : 'off'}: ${lastGen.size} of ${total} finished, ${duplicates} duplicates; per kill:`,
        kills
          .map((k) => `${k.duplicates} (bound ${k.bound} = ${k.handling} handling + ${k.sinceCommit} since commit)`)
          .join(', '),
      );
      if (violations.length > 0) console.log(violations.slice(0, 8));
      expect(violations.slice(0, 5), `${violations.length} violations`).toEqual([]);
      expect(lastGen.size).toBe(total);
      for (const k of kills) expect(k.duplicates).toBeLessThanOrEqual(k.bound);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await broker.stop();
    }
  }, 150_000);
});
