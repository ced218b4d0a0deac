import { type Outcome, Queue, silentLogger } from '@q/core';
import { describe, expect, it } from 'vitest';
import { delay, until } from './helpers.js';

interface Msg {
  readonly id: number;
  readonly key: string;
}

/**
 * Review K: a keyed batch consumer whose whole batch parked with other holders (`take` returned [])
 * never calls `next()`, so it never lets go of its hold token: it sits idle with a current token.
 * key-holds.ts accepts that tokens come round again (epochs wrap after 2^17 holds) because "its
 * messages then wait in that consumer's backlog, in order, until it lets its keys go". An idle
 * consumer that never lets go breaks that: a message of a key whose slot still carries the same
 * (stale) token is parked behind the idle consumer and stays there: never consumed, nacked only at
 * the stop deadline (with stopTimeoutMs: Infinity, stop() never resolves).
 */
describe('review K: an idle consumer keeps its hold token', () => {
  it('a free key is not parked forever behind a consumer that holds nothing', async () => {
    const pending: (Msg | Msg[])[] = [];
    const outcomes = new Map<number, Outcome>();
    const started = new Set<number>();
    let id = 0;
    const send = (key: string): Msg => {
      const m = { id: id++, key };
      pending.push(m);
      return m;
    };
    let openH: () => void = () => {};
    let openC: () => void = () => {};
    const gateH = new Promise<void>((r) => {
      openH = r;
    });
    const gateC = new Promise<void>((r) => {
      openC = r;
    });
    const queue = new Queue<Msg>(
      () => ({
        async produce(signal) {
          if (pending.length === 0) {
            await new Promise<void>((r) => {
              const done = (): void => {
                clearTimeout(t);
                signal.removeEventListener('abort', done);
                r();
              };
              const t = setTimeout(done, 1);
              signal.addEventListener('abort', done);
            });
          }
          return pending.shift();
        },
        settle(m, outcome) {
          outcomes.set(m.id, outcome);
        },
      }),
      () => ({
        consume() {},
        consumeBatch(ms: readonly Msg[]) {
          for (const m of ms) started.add(m.id);
          const m = ms[0] as Msg;
          if (m.id === 0) return gateH;
          if (m.key === 'C') return gateC;
          return undefined;
        },
      }),
      {
        producers: 1,
        consumers: 3,
        batchSize: 1,
        capacity: 4096,
        keyOf: (m) => m.key,
        statsIntervalMs: 0,
        idleDelayMs: 1,
        stopTimeoutMs: 1_000,
        logger: silentLogger,
      },
    );
    const running = queue.start();
    // Two consumers block, one holding 'H', one holding 'C'; the third (W) does everything else.
    const h = send('H');
    await until(() => started.has(h.id), 2_000);
    const c = send('C');
    await until(() => started.has(c.id), 2_000);
    // W takes 'K' (its slot keeps W's token, epoch e), then 2^17 - 1 more holds bring W's epoch round.
    const k = send('K');
    await until(() => outcomes.has(k.id), 2_000);
    const HOLDS = 2 ** 17 - 1;
    for (let i = 0; i < HOLDS; i += 1024) {
      const chunk: Msg[] = [];
      for (let j = i; j < Math.min(HOLDS, i + 1024); j++) chunk.push({ id: id++, key: 'x' });
      pending.push(chunk);
    }
    const lastX = id - 1;
    await until(() => outcomes.has(lastX), 20_000);
    // C lets 'C' go and waits on the channel behind W.
    openC();
    await delay(20);
    // W takes a batch of 'H' only: it parks with the holder, W's call list is empty, W keeps its
    // token (epoch e again, the very token slot 'K' still carries) and goes idle.
    const h2 = send('H');
    await delay(20);
    // C takes the next 'K': its slot looks held by W, so it parks in W's backlog.
    const k2 = send('K');
    await delay(20);
    openH();
    await until(() => outcomes.has(h2.id), 2_000);
    // 'K' is free: nobody runs it.
    await delay(200);
    const k2Outcome = outcomes.get(k2.id)?.type ?? 'not settled';
    const stats = queue.stats();
    await queue.stop();
    await running;
    // Observed: { k2: 'not settled', parked: 1, settledAs: 'nacked' } (nacked by stop, never run).
    expect({ k2: k2Outcome, parked: stats.parked, settledAs: outcomes.get(k2.id)?.type }).toEqual({
      k2: 'consumed',
      parked: 0,
      settledAs: 'consumed',
    });
  }, 60_000);
});
