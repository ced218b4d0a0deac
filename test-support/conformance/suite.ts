import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forkWorker } from '../fork-worker.js';
import { delay, until } from '../wait.js';
import type { ConformanceAdapter } from './adapter.js';
import { consume, messages, pushAll } from './consume.js';
import { semanticsTests } from './suite-semantics.js';

const worker = fileURLToPath(new URL('./kill-worker.ts', import.meta.url));

/**
 * The tests every adapter runs (Watermill's idea: one suite, many backends). `connect` builds the
 * adapter in this process; its `connection` is the plain data the SIGKILL worker builds it from.
 */
export function conformanceSuite(name: string, connect: () => Promise<ConformanceAdapter>): void {
  describe(`conformance: ${name}`, () => {
    let adapter: ConformanceAdapter;
    beforeAll(async () => {
      adapter = await connect();
    });
    afterAll(async () => {
      await adapter?.close();
    });
    const get = (): ConformanceAdapter => adapter;

    it('delivers every confirmed push exactly once when nothing fails', async () => {
      const destination = await get().destination();
      try {
        const sent = messages('once', 2_000);
        const results = await pushAll(destination, sent);
        expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
        const { handled } = await consume(destination, { until: new Set(sent.map((m) => m.id)) });
        expect(handled.length).toBe(sent.length);
        expect(new Set(handled.map((m) => m.id)).size).toBe(sent.length);
      } finally {
        await destination.dispose();
      }
    });

    it('acks: what a stopped queue consumed is not delivered to the next one', async () => {
      const destination = await get().destination();
      try {
        const sent = messages('ack', 200);
        await pushAll(destination, sent);
        await consume(destination, { until: new Set(sent.map((m) => m.id)) });
        const again = await consume(destination, { idleMs: 1_000, minMs: 500 });
        expect(again.handled.map((m) => m.id)).toEqual([]);
      } finally {
        await destination.dispose();
      }
    });

    it('stop: a queue stopped at once mid-run loses nothing; the next one gets the rest', async () => {
      const destination = await get().destination();
      try {
        const sent = messages('stop', 1_000);
        await pushAll(destination, sent);
        const first = await consume(destination, {
          handler: () => delay(2),
          stopAfter: 100,
          stopTimeoutMs: 0,
        });
        const seen = new Set(first.handled.map((m) => m.id));
        const missing = new Set(sent.map((m) => m.id).filter((id) => !seen.has(id)));
        expect(missing.size).toBeGreaterThan(0);
        const second = await consume(destination, { until: missing });
        for (const m of second.handled) seen.add(m.id);
        expect(sent.filter((m) => !seen.has(m.id))).toEqual([]);
      } finally {
        await destination.dispose();
      }
    });

    it('SIGKILL of a consumer process mid-run: nothing lost, duplicates within what it held', async () => {
      const destination = await get().destination();
      const children: ChildProcess[] = [];
      try {
        const sent = messages('kill', 3_000);
        await pushAll(destination, sent);
        await destination.release?.();
        const counts = new Map<string, number>();
        const start = async (): Promise<ChildProcess> => {
          const child = await forkWorker(worker, [
            get().name,
            JSON.stringify({ connection: get().connection ?? {}, destination: destination.config }),
          ]);
          child.on('message', (m: { id?: string }) => {
            if (m.id !== undefined) counts.set(m.id, (counts.get(m.id) ?? 0) + 1);
          });
          children.push(child);
          return child;
        };
        const kills = 2;
        for (let k = 1; k <= kills; k++) {
          const child = await start();
          const target = Math.min(sent.length - 1, (sent.length * k) / (kills + 1));
          await until(() => counts.size >= target, 60_000, `${target} ids before kill ${k}`);
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGKILL');
          await exited;
        }
        const last = await start();
        await until(() => counts.size >= sent.length, 90_000, 'every id after the kills');
        const exited = new Promise((r) => last.once('exit', r));
        last.kill('SIGTERM');
        await exited;
        expect(sent.filter((m) => !counts.has(m.id))).toEqual([]);
        const duplicates = [...counts.values()].reduce((sum, n) => sum + n - 1, 0);
        console.info(`conformance ${name}: ${sent.length} sent, ${duplicates} duplicates after ${kills} SIGKILLs`);
        expect(duplicates).toBeLessThanOrEqual(kills * get().inFlightBound);
      } finally {
        for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await destination.dispose();
      }
    }, 180_000);

    semanticsTests(get);
  });
}
