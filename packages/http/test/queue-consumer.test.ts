import { join } from 'node:path';
import { fromIterable, Queue } from '@q/core';
import { afterEach, describe, expect, it } from 'vitest';
import { httpConsumerFactory } from '../src/deliverer/queue-consumer.js';
import { DeadLetters } from '../src/delivery/dead-letters.js';
import { DeliveryEngine } from '../src/delivery/delivery-engine.js';
import { DeliveryClosedError } from '../src/delivery/errors.js';
import type { DeliveryItem } from '../src/delivery/types.js';
import { startTarget, tempDir } from './deliverer-target.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function engineAt(prefix: string) {
  const tmp = await tempDir(prefix);
  cleanups.push(() => tmp.remove());
  const deadLetters = await DeadLetters.open({ dir: join(tmp.dir, 'dead-letter') });
  cleanups.push(() => deadLetters.close());
  const engine = new DeliveryEngine({ deadLetters, concurrency: 8, retry: { minDelayMs: 5, maxDelayMs: 50 } });
  cleanups.push(() => engine.close());
  return { engine, deadLetters };
}

describe('httpConsumerFactory', () => {
  it('a Queue settles each message once its delivery finished: delivered, or dead-lettered with its cause', async () => {
    const { engine, deadLetters } = await engineAt('q-http-consumer-');
    const target = await startTarget({ seed: 3, faults: { fail500: 0.2, reject400: 0.05 } });
    cleanups.push(() => target.close());
    const messages = Array.from({ length: 300 }, (_, n) => ({ n }));
    const toItem = (m: { n: number }): DeliveryItem => ({
      id: `m_${m.n}`,
      url: target.url('/q'),
      body: Buffer.from(JSON.stringify(m)),
      headers: { 'x-n': String(m.n) },
    });
    const queue = new Queue(fromIterable(messages), httpConsumerFactory({ engine, toItem }), {
      producers: 1,
      consumers: 16,
    });
    const settled: string[] = [];
    queue.on('error', (info: unknown) => settled.push(`error ${String(info)}`));
    await queue.start();
    const stats = engine.stats();
    expect(stats.delivered + stats.deadLettered).toBe(300);
    expect(deadLetters.count).toBe(stats.deadLettered);
    const dead = new Set((await deadLetters.list({ max: 300 })).map((d) => d.item.id));
    for (const m of messages) {
      const id = `m_${m.n}`;
      expect(target.okCount(id) + (dead.has(id) ? 1 : 0)).toBe(1);
    }
    for (const r of target.received) expect(r.headers['x-n']).toBe(String((JSON.parse(r.body) as { n: number }).n));
    expect(settled).toEqual([]);
  });

  it('consume throws DeliveryClosedError once the engine is closed (the message is not finished)', async () => {
    const { engine } = await engineAt('q-http-consumer-closed-');
    const consumer = await httpConsumerFactory<string>({
      engine,
      toItem: (s) => ({ id: s, url: 'http://127.0.0.1:9/', body: Buffer.from(s) }),
    })();
    await engine.close();
    await expect(consumer.consume('x', { attempt: 1, signal: new AbortController().signal })).rejects.toBeInstanceOf(
      DeliveryClosedError,
    );
  });

  it('refuses options that are not an engine and a function', () => {
    expect(() => httpConsumerFactory({ engine: {} as DeliveryEngine, toItem: () => ({}) as DeliveryItem })).toThrow(
      /engine/,
    );
    expect(() =>
      httpConsumerFactory({ engine: { deliver: () => undefined } as unknown as DeliveryEngine, toItem: 1 as never }),
    ).toThrow(/toItem/);
  });
});
