import { formatOutboxId, OUTBOX_ID_HEADER, silentLogger } from '@q/core';
import { queueKeys, RedisListPusher } from '@q/redis';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { client, uniqueKey } from './support/clients.js';
import { assertSeeded } from './support/seeded-property.js';

const OUTBOXES = ['a', 'b', 'c'] as const;

/** A message of the run: which outbox, which sequence. */
interface Id {
  outbox: (typeof OUTBOXES)[number];
  seq: number;
}

type Command =
  /** A forwarder's batch: runs of rising sequences from `from`, with gaps, of several outboxes. */
  | { t: 'batch'; ids: Id[] }
  /** The batch `pick` (modulo what was sent) again, as a forwarder restarted before its commit does. */
  | { t: 'replay'; pick: number }
  /** The messages one at a time through pushAndConfirm, then a flush. */
  | { t: 'single'; ids: Id[] }
  /** A new pusher, as after a crash: the marks live in Redis, not in the pusher. */
  | { t: 'restart' };

const id: fc.Arbitrary<Id> = fc.record({
  outbox: fc.constantFrom(...OUTBOXES),
  // Small range: replays and overlaps are frequent; a few huge ones near 2^53.
  seq: fc.oneof(
    { weight: 9, arbitrary: fc.integer({ min: 0, max: 40 }) },
    { weight: 1, arbitrary: fc.integer({ min: Number.MAX_SAFE_INTEGER - 3, max: Number.MAX_SAFE_INTEGER }) },
  ),
});
const run: fc.Arbitrary<Id[]> = fc
  .tuple(
    fc.constantFrom(...OUTBOXES),
    fc.integer({ min: 0, max: 40 }),
    fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 8 }),
  )
  .map(([outbox, from, steps]) => {
    let seq = from;
    return [{ outbox, seq }, ...steps.map((step) => ({ outbox, seq: (seq += step) }))];
  });
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.array(run, { minLength: 1, maxLength: 3 }).map((runs) => ({ t: 'batch' as const, ids: runs.flat() })),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('batch' as const), ids: fc.array(id, { maxLength: 12 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('replay' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('single' as const), ids: fc.array(id, { minLength: 1, maxLength: 4 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ t: 'restart' as const }) },
);

/** The rule: a message is pushed when its sequence is above every earlier one pushed from its outbox. */
class Model {
  readonly list: string[] = [];
  readonly #marks = new Map<string, number>();
  skipped = 0;
  push(message: { body: string; id: Id }): void {
    const mark = this.#marks.get(message.id.outbox) ?? -1;
    if (message.id.seq > mark) {
      this.#marks.set(message.id.outbox, message.id.seq);
      this.list.push(message.body);
    } else {
      this.skipped++;
    }
  }
}

async function check(redis: Redis, commands: Command[]): Promise<void> {
  const key = uniqueKey('dedupe-model');
  const model = new Model();
  const sent: { body: string; id: Id }[][] = [];
  let copy = 0;
  const toMessages = (ids: Id[]) => ids.map((i) => ({ body: `${formatOutboxId(i.outbox, i.seq)}#${copy++}`, id: i }));
  const asSink = (ms: { body: string; id: Id }[]) =>
    ms.map((m) => ({ body: m.body, headers: { [OUTBOX_ID_HEADER]: formatOutboxId(m.id.outbox, m.id.seq) } }));
  const open = () =>
    new RedisListPusher({ redis, key, dedupe: 'outbox-id', logger: silentLogger, flushIntervalMs: 60_000 });
  let pusher = open();
  let skippedBefore = 0;
  try {
    for (const c of commands) {
      if (c.t === 'restart') {
        await pusher.close();
        skippedBefore += pusher.stats().duplicatesSkipped;
        pusher = open();
        continue;
      }
      const messages =
        c.t === 'replay'
          ? sent.length === 0
            ? []
            : (sent[c.pick % sent.length] as (typeof sent)[number])
          : toMessages(c.ids);
      if (c.t === 'single') {
        const confirms = asSink(messages).map((m) => pusher.pushAndConfirm(m));
        await pusher.flush();
        await Promise.all(confirms);
      } else {
        await pusher.pushBatch(asSink(messages));
      }
      sent.push(messages);
      for (const m of messages) model.push(m);
      expect(await redis.lrange(key, 0, -1)).toEqual(model.list);
      expect(skippedBefore + pusher.stats().duplicatesSkipped).toBe(model.skipped);
    }
  } finally {
    await pusher.close();
    await redis.del(key, queueKeys(key).outboxHighWater);
  }
}

describe("RedisListPusher dedupe: 'outbox-id' against a model", () => {
  it('random batches with replays, gaps, restarts and three outboxes leave the list the model predicts', async () => {
    const redis = client();
    await assertSeeded(
      'dedupe model',
      fc.asyncProperty(fc.array(command, { maxLength: 25 }), (commands) => check(redis, commands)),
      150,
    );
  }, 60_000);
});
