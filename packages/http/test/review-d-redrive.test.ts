import { afterEach, describe, expect, it } from 'vitest';
import { delay, until } from '../../../test-support/wait.js';
import { DeadLetters } from '../src/delivery/dead-letters.js';
import type { DeliveryItem } from '../src/delivery/types.js';
import { tempDir as newTempDir } from './deliverer-target.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDir(): Promise<string> {
  const tmp = await newTempDir('q-http-review-d-');
  cleanups.unshift(() => tmp.remove());
  return tmp.dir;
}

const rejected = { outcome: 'dead-lettered', attempts: 1, reason: 'rejected', status: 400, cause: 'HTTP 400' } as const;

async function filled(dir: string, n: number): Promise<DeadLetters> {
  const dl = await DeadLetters.open({ dir });
  for (let i = 0; i < n; i++)
    await dl.add({ id: `d${i}`, url: 'http://127.0.0.1:9/hook', body: Buffer.from(`{"i":${i}}`) }, rejected);
  return dl;
}

describe('review d: DeadLetters.redrive', () => {
  it('defect "redrive close loses progress": what a redrive handed over before close() is not sent again by the next redrive', async () => {
    const dir = await tempDir();
    const dl = await filled(dir, 40);
    const first: string[] = [];
    // A slow target (an append that takes a little while), closed under it (a server shutting down).
    const running = dl
      .redrive(async (item: DeliveryItem) => {
        first.push(item.id);
        await delay(2);
      })
      .catch(() => undefined);
    await until(() => first.length >= 10, 10_000, '10 sent');
    await dl.close();
    const sentBeforeClose = first.length;
    await running;
    const again = await DeadLetters.open({ dir });
    cleanups.push(() => again.close());
    const second: string[] = [];
    await again.redrive(async (item) => {
      second.push(item.id);
    });
    // Documented duplicates are for a crash only; a close is orderly.
    const resent = second.filter((id) => first.slice(0, sentBeforeClose).includes(id));
    expect({ sentBeforeClose, redrivenThrough: again.redrivenThrough >= sentBeforeClose, resent }).toEqual({
      sentBeforeClose,
      redrivenThrough: true,
      resent: [],
    });
  });

  it('defect "redrive runs on after close": no dead letter is handed to into() once close() resolved', async () => {
    const dir = await tempDir();
    const dl = await filled(dir, 40);
    const sent: string[] = [];
    let closed = false;
    let afterClose = 0;
    const running = dl
      .redrive(async (item: DeliveryItem) => {
        if (closed) afterClose++;
        sent.push(item.id);
        await delay(2);
      })
      .catch(() => undefined);
    await until(() => sent.length >= 5, 10_000, '5 sent');
    await dl.close();
    closed = true;
    await running;
    expect({ afterClose, sent: sent.length }).toEqual({ afterClose: 0, sent: sent.length });
  });

  it('defect "ranged redrive re-sent" (fixed in the docs): a range above redrivenThrough does not move it; a redrive without a range goes on from it', async () => {
    const dir = await tempDir();
    const dl = await filled(dir, 10);
    cleanups.push(() => dl.close());
    const sent: string[] = [];
    const into = async (item: DeliveryItem): Promise<void> => {
      sent.push(item.id);
    };
    expect(await dl.redrive(into, { from: 5 })).toBe(5);
    expect(dl.redrivenThrough).toBe(0);
    expect(await dl.redrive(into)).toBe(10);
    expect(dl.redrivenThrough).toBe(10);
    // The docs say it: what the range sent is sent again by the redrive without one, nothing else twice.
    const counts = new Map<string, number>();
    for (const id of sent) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect([...counts].filter(([, n]) => n > 1).map(([id]) => id)).toEqual(['d5', 'd6', 'd7', 'd8', 'd9']);
    expect(await dl.redrive(into)).toBe(0);
  });
});
