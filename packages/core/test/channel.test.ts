import { Channel, ChannelClosedError, CLOSED, EMPTY } from '@q/core';
import { Waker } from '@q/core/internal';
import { describe, expect, it } from 'vitest';

describe('Channel', () => {
  it('is FIFO across single messages and batches, and remembers origins', () => {
    const ch = new Channel<number, string>(10);
    expect(ch.send(1, 'a')).toBeUndefined();
    expect(ch.sendBatch([2, 3, 4], 'b')).toBeUndefined();
    expect(ch.send(5, 'a')).toBeUndefined();
    const got: [number, string | undefined][] = [];
    for (let m = ch.tryReceive(); m !== EMPTY; m = ch.tryReceive()) {
      if (m === CLOSED) throw new Error('not closed');
      got.push([m, ch.origin]);
    }
    expect(got).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'b'],
      [4, 'b'],
      [5, 'a'],
    ]);
  });

  it('hands a whole batch over without copying, and never mixes origins in a batch', () => {
    const ch = new Channel<number, string>(100);
    const batch = [1, 2, 3];
    ch.sendBatch(batch, 'x');
    ch.send(4, 'y');
    ch.send(5, 'y');
    ch.send(6, 'z');
    expect(ch.tryReceiveBatch(10)).toBe(batch);
    expect(ch.tryReceiveBatch(10)).toEqual([4, 5]);
    expect(ch.origin).toBe('y');
    expect(ch.tryReceiveBatch(10)).toEqual([6]);
    expect(ch.tryReceiveBatch(10)).toBe(EMPTY);
  });

  it('splits batches larger than the request', () => {
    const ch = new Channel<number>(100);
    ch.sendBatch([1, 2, 3, 4, 5], 'o');
    expect(ch.tryReceiveBatch(2)).toEqual([1, 2]);
    expect(ch.tryReceive()).toBe(3);
    expect(ch.tryReceiveBatch(5)).toEqual([4, 5]);
  });

  it('tryReceiveRun takes consecutive same-key messages of one origin, up to max', () => {
    const ch = new Channel<number, string>(100);
    const key = (m: number): number | undefined => (m >= 100 ? undefined : Math.floor(m / 10));
    ch.sendBatch([10, 11, 12, 20, 21], 'a');
    ch.send(22, 'a');
    ch.send(23, 'b');
    ch.sendBatch([30, 31, 32, 33, 34], 'b');
    ch.sendBatch([100, 101], 'b');
    expect(ch.tryReceiveRun(key, 10)).toEqual([10, 11, 12]);
    expect([ch.runKey, ch.origin]).toEqual([1, 'a']);
    // The run goes on across slots of the same origin, and stops where the origin changes.
    expect(ch.tryReceiveRun(key, 10)).toEqual([20, 21, 22]);
    expect(ch.tryReceiveRun(key, 10)).toEqual([23]);
    expect(ch.origin).toBe('b');
    expect(ch.tryReceiveRun(key, 3)).toEqual([30, 31, 32]);
    expect(ch.size).toBe(4);
    expect(ch.tryReceiveRun(key, 10)).toEqual([33, 34]);
    // An undefined key is a run of one: such messages are meant to run in parallel.
    expect(ch.tryReceiveRun(key, 10)).toEqual([100]);
    expect(ch.runKey).toBeUndefined();
    expect(ch.tryReceiveRun(key, 10)).toEqual([101]);
    expect(ch.tryReceiveRun(key, 10)).toBe(EMPTY);
    expect(ch.size).toBe(0);
    ch.close();
    expect(ch.tryReceiveRun(key, 10)).toBe(CLOSED);
  });

  it('tryReceiveRun takes from waiting senders too and lets the next ones in', async () => {
    const ch = new Channel<number, string>(2);
    const first = ch.sendBatch([1, 1, 1, 1, 2], 'a');
    const second = ch.sendBatch([2, 2], 'a');
    expect(ch.pending).toBe(7);
    expect(ch.tryReceiveRun((m) => m, 100)).toEqual([1, 1, 1, 1]);
    expect(ch.size).toBeLessThanOrEqual(2);
    expect(ch.tryReceiveRun((m) => m, 100)).toEqual([2, 2, 2]);
    expect(await first).toBe(true);
    expect(await second).toBe(true);
    expect(ch.pending).toBe(0);

    const rendezvous = new Channel<number, string>(0);
    const sent = rendezvous.sendBatch([5, 5, 6], 'r');
    expect(rendezvous.tryReceiveRun((m) => m, 100)).toEqual([5, 5]);
    expect(rendezvous.pending).toBe(1);
    expect(rendezvous.tryReceiveRun((m) => m, 100)).toEqual([6]);
    expect(await sent).toBe(true);
  });

  it('never buffers more than its capacity; a sender waits with the rest in hand', async () => {
    const ch = new Channel<number>(4);
    const pending = ch.sendBatch([1, 2, 3, 4, 5, 6], 'o');
    expect(pending).toBeInstanceOf(Promise);
    expect(ch.size).toBe(4);
    expect(ch.pending).toBe(6);
    let delivered: boolean | undefined;
    void pending?.then((d) => {
      delivered = d;
    });
    const got: number[] = [];
    for (let i = 0; i < 6; i++) {
      const m = ch.tryReceive();
      expect(typeof m).toBe('number');
      got.push(m as number);
      expect(ch.size).toBeLessThanOrEqual(4);
    }
    await Promise.resolve();
    expect(got).toEqual([1, 2, 3, 4, 5, 6]);
    expect(delivered).toBe(true);
  });

  it('capacity 0 is a rendezvous: the send completes only when a receiver took the message', async () => {
    const ch = new Channel<string>(0);
    const pending = ch.send('hello', 'o');
    expect(pending).toBeInstanceOf(Promise);
    expect(ch.size).toBe(0);
    let done = false;
    void pending?.then(() => {
      done = true;
    });
    await Promise.resolve();
    expect(done).toBe(false);
    expect(ch.tryReceive()).toBe('hello');
    await Promise.resolve();
    expect(done).toBe(true);
  });

  it('wakes a waiting reader when a message arrives, and every reader on close', async () => {
    const ch = new Channel<number>(2);
    const a = new Waker();
    const b = new Waker();
    expect(ch.tryReceive()).toBe(EMPTY);
    const sleepA = ch.waitReadable(a);
    const sleepB = ch.waitReadable(b);
    ch.send(1, 'o');
    await sleepA;
    expect(b.armed).toBe(true);
    expect(ch.tryReceive()).toBe(1);
    ch.close();
    await sleepB;
    expect(ch.tryReceive()).toBe(CLOSED);
  });

  it('drains what is left after close, then reports CLOSED; sends throw', () => {
    const ch = new Channel<number>(3);
    ch.sendBatch([1, 2], 'o');
    ch.close();
    expect(() => ch.send(3, 'o')).toThrow(ChannelClosedError);
    expect(ch.tryReceiveBatch(10)).toEqual([1, 2]);
    expect(ch.tryReceive()).toBe(CLOSED);
  });

  it('reclaim() returns everything buffered and held, by origin, and releases senders with false', async () => {
    const ch = new Channel<number, string>(2);
    ch.send(1, 'a');
    const held = ch.sendBatch([2, 3, 4], 'b');
    const reclaimed = ch.reclaim();
    expect(reclaimed).toEqual([
      { origin: 'a', messages: [1] },
      { origin: 'b', messages: [2, 3, 4] },
    ]);
    expect(await held).toBe(false);
    expect(ch.pending).toBe(0);
  });

  it('keeps order and counts under a long random mix of operations', () => {
    const ch = new Channel<number>(7);
    let next = 0;
    let expected = 0;
    let seed = 7;
    const random = (): number => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    for (let step = 0; step < 20_000; step++) {
      if (random() < 0.5 && ch.pending < 30) {
        const n = 1 + Math.floor(random() * 5);
        const batch = Array.from({ length: n }, () => next++);
        if (n === 1) ch.send(batch[0] as number, 'o');
        else ch.sendBatch(batch, 'o');
      } else if (random() < 0.5) {
        const m = ch.tryReceive();
        if (m !== EMPTY && m !== CLOSED) expect(m).toBe(expected++);
      } else {
        const pendingBefore = ch.pending;
        const run = ch.tryReceiveRun((m) => Math.floor(m / 3), 1 + Math.floor(random() * 4));
        if (run !== EMPTY && run !== CLOSED) {
          for (const m of run) expect(m).toBe(expected++);
          expect(new Set(run.map((m) => Math.floor(m / 3))).size).toBe(1);
          expect(ch.pending).toBe(pendingBefore - run.length);
        }
      }
      expect(ch.size).toBeLessThanOrEqual(7);
    }
    expect(expected).toBeGreaterThan(5000);
    for (let m = ch.tryReceive(); m !== EMPTY; m = ch.tryReceive()) expect(m).toBe(expected++);
    expect(expected).toBe(next);
  });
});
