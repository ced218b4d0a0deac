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

const worker = fileURLToPath(new URL('./fixtures/worker.ts', import.meta.url));

function start(config: object): Promise<ChildProcess> {
  return forkWorker(worker, [JSON.stringify(config)]);
}

/** Finished (partition, offset) pairs as the workers reported them, with how often. */
function finished(file: string): Map<string, number> {
  const out = new Map<string, number>();
  if (!existsSync(file)) return out;
  for (const line of readFileSync(file, 'utf8').split('\n')) if (line !== '') out.set(line, (out.get(line) ?? 0) + 1);
  return out;
}

describe('KafkaQueue through crashes', () => {
  it('a worker SIGKILLed 3 times during 100,000 messages: nothing lost, commits never pass unfinished work, duplicates bounded', async () => {
    const broker = await startKafkaBroker();
    const topic = `crash-${randomUUID()}`;
    const partitions = 4;
    broker.cluster.createTopic(topic, partitions);
    const total = 100_000;
    const pusher = new KafkaPusher({ brokers: broker.bootstrap, topic, chunkBytes: 64 * 1024, flushIntervalMs: 5 });
    for (let i = 0; i < total; i++) await pusher.pushWithKey(`k${i % 101}`, `m${i}`);
    await pusher.close();
    const dir = mkdtempSync(join(tmpdir(), 'q-kafka-crash-'));
    const file = join(dir, 'finished.txt');
    const group = `g-${randomUUID()}`;
    const config = { brokers: broker.bootstrap, group, topic, file };
    const violations: string[] = [];
    let heldAtKills = 0;
    try {
      let child = await start(config);
      const targets = [0.15, 0.45, 0.75].map((f) => Math.floor(total * (f + Math.random() * 0.1)));
      for (const target of targets) {
        while (finished(file).size < target) await new Promise((r) => setTimeout(r, 20));
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
        // Every offset below a committed offset must have been finished by a handler.
        const done = finished(file);
        for (let p = 0; p < partitions; p++) {
          const committed = broker.cluster.groups.committed(group, topic, p)?.offset ?? 0n;
          let unfinishedBelow = 0;
          for (let o = 0n; o < committed; o++) if (!done.has(`${p} ${o}`)) unfinishedBelow++;
          if (unfinishedBelow > 0)
            violations.push(`partition ${p}: ${unfinishedBelow} unfinished below commit ${committed}`);
          const end = broker.cluster.partition(topic, p)?.log.endOffset ?? 0n;
          // Redelivery after the kill is bounded by what lies between the commit and the end of what was finished.
          let finishedAbove = 0;
          for (let o = committed; o < end; o++) if (done.has(`${p} ${o}`)) finishedAbove++;
          heldAtKills += finishedAbove;
        }
        child = await start(config);
      }
      const deadline = Date.now() + 90_000;
      while (finished(file).size < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const exited = new Promise((r) => child.once('exit', r));
      child.send('stop');
      await exited;
      const done = finished(file);
      const duplicates = [...done.values()].reduce((n, c) => n + c - 1, 0);
      console.log(`kafka crash run: ${done.size} of ${total} finished, ${duplicates} duplicates, bound ${heldAtKills}`);
      expect(violations).toEqual([]);
      expect(done.size).toBe(total);
      expect(duplicates).toBeLessThanOrEqual(heldAtKills);
      for (let p = 0; p < partitions; p++) {
        expect(broker.cluster.groups.committed(group, topic, p)?.offset).toBe(
          broker.cluster.partition(topic, p)?.log.endOffset,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await broker.stop();
    }
  }, 180_000);
});
