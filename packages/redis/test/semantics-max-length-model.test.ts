import { DEATH_HEADER, PublishRejectedError, readDeaths, silentLogger } from '@q/core';
import { RedisListPusher, unwrapEnvelope } from '@q/redis';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { client, uniqueKey } from './support/clients.js';
import { assertSeeded } from './support/seeded-property.js';

type Command =
  /** `n` pushAndConfirm calls at once (they share a chunk, or not: the rule is per push). */
  | { t: 'singles'; n: number }
  /** One pushBatch of `n`. */
  | { t: 'batch'; n: number }
  /** A consumer takes `n` from the head. */
  | { t: 'pop'; n: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant('singles' as const), n: fc.integer({ min: 1, max: 6 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('batch' as const), n: fc.integer({ min: 1, max: 10 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('pop' as const), n: fc.integer({ min: 1, max: 5 }) }) },
);

/** RabbitMQ's rules, one push after the other: drop-head trims the oldest, reject-publish refuses what does not fit. */
class Model {
  readonly list: string[] = [];
  readonly dead: string[] = [];
  readonly rejected: string[] = [];
  constructor(
    readonly max: number,
    readonly overflow: 'drop-head' | 'reject-publish',
  ) {}
  push(unit: string[]): void {
    if (this.overflow === 'reject-publish') {
      if (this.list.length + unit.length <= this.max) this.list.push(...unit);
      else this.rejected.push(...unit);
      return;
    }
    this.list.push(...unit);
    const excess = this.list.length - this.max;
    if (excess > 0) this.dead.push(...this.list.splice(0, excess));
  }
}

async function check(redis: Redis, max: number, overflow: 'drop-head' | 'reject-publish', commands: Command[]) {
  const tag = uniqueKey('cap-model');
  const key = `{${tag}}:list`;
  const deadLetterKey = overflow === 'drop-head' ? `{${tag}}:dropped` : undefined;
  const pusher = new RedisListPusher({ redis, key, maxLength: max, overflow, deadLetterKey, logger: silentLogger });
  const model = new Model(max, overflow);
  const rejected: string[] = [];
  let n = 0;
  const next = (count: number) => Array.from({ length: count }, () => `m${n++}`);
  try {
    for (const c of commands) {
      if (c.t === 'pop') {
        await redis.lpop(key, c.n);
        model.list.splice(0, c.n);
      } else if (c.t === 'batch') {
        const batch = next(c.n);
        await pusher.pushBatch(batch).catch((e: unknown) => {
          expect(e).toBeInstanceOf(PublishRejectedError);
          rejected.push(...batch);
        });
        model.push(batch);
      } else {
        const singles = next(c.n);
        const confirms = singles.map((m) => pusher.pushAndConfirm(m));
        await pusher.flush();
        const results = await Promise.allSettled(confirms);
        results.forEach((r, i) => {
          if (r.status === 'rejected') rejected.push(singles[i] as string);
        });
        for (const m of singles) model.push([m]);
      }
      expect(await redis.lrange(key, 0, -1)).toEqual(model.list);
      expect(rejected).toEqual(model.rejected);
      if (deadLetterKey !== undefined) {
        const dead = (await redis.lrange(deadLetterKey, 0, -1)).map((s) => unwrapEnvelope(s));
        expect(dead.map((d) => d.body)).toEqual(model.dead);
        for (const d of dead)
          expect(readDeaths(d.headers[DEATH_HEADER])).toMatchObject([{ reason: 'maxlen', count: 1 }]);
      }
    }
    expect(pusher.stats()).toMatchObject({ rejected: model.rejected.length, dropped: model.dead.length });
  } finally {
    await pusher.close();
    await redis.del(key, deadLetterKey ?? key);
  }
}

describe('RedisListPusher maxLength against a model (RabbitMQ x-max-length, one push after the other)', () => {
  it.each(['drop-head', 'reject-publish'] as const)(
    '%s: random pushes, batches and pops leave the list, the dead letters and the rejections the model predicts',
    async (overflow) => {
      const redis = client();
      await assertSeeded(
        `max-length model (${overflow})`,
        fc.asyncProperty(fc.integer({ min: 1, max: 8 }), fc.array(command, { maxLength: 20 }), (max, commands) =>
          check(redis, max, overflow, commands),
        ),
        200,
      );
    },
    60_000,
  );
});
