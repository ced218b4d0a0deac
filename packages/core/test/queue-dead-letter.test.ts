import { BalancedPusher, MultiPusher, type Pusher, type PushInfo, Queue, silentLogger } from '@q/core';
import { describe, expect, it } from 'vitest';
import { delay, numberSource, SettleLog, until } from './helpers.js';

/** A dead-letter destination whose writes can be made to fail, to hang, or to confirm. */
class Destination implements Pusher<number> {
  readonly stored: number[] = [];
  readonly calls: string[] = [];
  fail: (m: number) => boolean = () => false;
  hang: (m: number) => boolean = () => false;
  constructor(confirms: boolean) {
    if (!confirms) (this as { pushAndConfirm?: unknown }).pushAndConfirm = undefined;
  }
  name(): string {
    return 'destination';
  }
  async push(m: number, _info?: PushInfo): Promise<void> {
    this.calls.push(`push ${m}`);
    await this.#write(m);
  }
  async pushAndConfirm(m: number, _info?: PushInfo): Promise<void> {
    this.calls.push(`confirm ${m}`);
    await this.#write(m);
  }
  async #write(m: number): Promise<void> {
    await delay(1);
    if (this.hang(m)) await delay(60_000);
    if (this.fail(m)) throw new Error(`refused ${m}`);
    this.stored.push(m);
  }
}

function failingQueue(source: ReturnType<typeof numberSource>, deadLetter: Pusher<number>, batch = false) {
  return new Queue<number>(
    () => source.producer,
    () => ({
      consume() {
        throw new Error('bad');
      },
      consumeBatch: batch
        ? () => {
            throw new Error('bad batch');
          }
        : undefined,
    }),
    {
      producers: 1,
      consumers: 2,
      deadLetter,
      deadLetterBackoff: { minDelayMs: 1, maxDelayMs: 5 },
      logger: silentLogger,
    },
  );
}

describe('dead letter: a message leaves its source only once its destination has it', () => {
  it('uses pushAndConfirm when the pusher has it, and push (with a warning) when it has not', async () => {
    for (const confirms of [true, false]) {
      const source = numberSource(3);
      const dlq = new Destination(confirms);
      const warnings: string[] = [];
      const logger = { ...silentLogger, warn: (_fields: object, message: string) => warnings.push(message) };
      const q = new Queue<number>(
        () => source.producer,
        () => ({
          consume() {
            throw new Error('bad');
          },
        }),
        { producers: 1, consumers: 1, deadLetter: dlq, logger },
      );
      const done = q.start();
      await until(() => source.log.outcomes.size === 3);
      await q.stop();
      await done;
      expect(dlq.calls).toEqual(confirms ? ['confirm 0', 'confirm 1', 'confirm 2'] : ['push 0', 'push 1', 'push 2']);
      expect(warnings.some((w) => w.includes('cannot confirm'))).toBe(!confirms);
      expect(source.log.ofType('dead-lettered')).toEqual([0, 1, 2]);
    }
  });

  it('a failing dead-letter push is retried until confirmed; the message is settled once, dead-lettered', async () => {
    const log = new SettleLog<number>();
    const source = numberSource(6, { log });
    const dlq = new Destination(true);
    let refusals = 0;
    dlq.fail = (m) => m % 2 === 0 && ++refusals <= 9;
    const stages: string[] = [];
    const q = failingQueue(source, dlq);
    q.on('error', (_e, info) => stages.push(info.stage));
    const done = q.start();
    await until(() => log.outcomes.size === 6);
    await q.stop();
    await done;
    expect(dlq.stored.sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(log.ofType('dead-lettered').sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(log.ofType('failed')).toEqual([]);
    expect(log.duplicates()).toEqual([]);
    expect(stages.filter((s) => s === 'dead-letter')).toHaveLength(9);
    expect(q.stats()).toMatchObject({ deadLettered: 6, failed: 0 });
  });

  it('at the stop deadline an unconfirmed dead letter is nacked once; confirmed ones are not nacked again', async () => {
    const log = new SettleLog<number>();
    const source = numberSource(4, { log, batch: 4 });
    const dlq = new Destination(true);
    dlq.hang = (m) => m === 2;
    const q = failingQueue(source, dlq, true);
    const done = q.start();
    await until(() => dlq.calls.includes('confirm 2'));
    await q.stop({ timeoutMs: 0 });
    await done;
    expect(log.duplicates()).toEqual([]);
    expect(log.ofType('dead-lettered').sort()).toEqual([0, 1]);
    expect(log.ofType('nacked').sort()).toEqual([2, 3]);
    expect(dlq.stored.sort()).toEqual([0, 1]);
  });

  it('a dead-letter push that keeps failing holds the message until the stop deadline nacks it', async () => {
    const log = new SettleLog<number>();
    const source = numberSource(2, { log });
    const dlq = new Destination(true);
    dlq.fail = () => true;
    const q = failingQueue(source, dlq);
    const done = q.start();
    await until(() => dlq.calls.length >= 10);
    expect(log.outcomes.size).toBe(0);
    await q.stop({ timeoutMs: 20 });
    await done;
    expect(log.ofType('nacked').sort()).toEqual([0, 1]);
    expect(log.duplicates()).toEqual([]);
  });

  it('a throwing dead-letter listener is reported and the message still settles', async () => {
    const source = numberSource(2);
    const q = failingQueue(source, new Destination(true));
    const stages: string[] = [];
    q.on('error', (_e, info) => stages.push(info.stage));
    q.on('dead-letter', () => {
      throw new Error('listener');
    });
    const done = q.start();
    await until(() => source.log.outcomes.size === 2);
    await q.stop();
    await done;
    expect(source.log.ofType('dead-lettered').sort()).toEqual([0, 1]);
    expect(stages.filter((s) => s === 'listener')).toHaveLength(2);
  });
});

describe('composite pushers confirm when every part does', () => {
  it('MultiPusher and BalancedPusher have pushAndConfirm only when all their pushers have it', async () => {
    const a = new Destination(true);
    const b = new Destination(true);
    const plain = new Destination(false);
    expect(new MultiPusher([a, plain]).pushAndConfirm).toBeUndefined();
    expect(new BalancedPusher([a, plain]).pushAndConfirm).toBeUndefined();
    const multi = new MultiPusher([a, b]);
    await multi.pushAndConfirm?.(7);
    expect([a.calls, b.calls]).toEqual([['confirm 7'], ['confirm 7']]);
    const balanced = new BalancedPusher([a, b], { logger: silentLogger });
    a.fail = () => true;
    b.fail = () => true;
    await expect(balanced.pushAndConfirm?.(8)).rejects.toThrow();
    b.fail = () => false;
    await balanced.pushAndConfirm?.(9);
    expect(b.stored).toContain(9);
  });
});
