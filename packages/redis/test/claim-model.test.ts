import { queueKeys } from '@q/redis';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recover } from '../src/recovery.js';
import { withScripts } from '../src/scripts.js';
import { ClaimModel, type Delivery } from './support/claim-model.js';
import { client, uniqueKey } from './support/clients.js';
import { assertSeeded } from './support/seeded-property.js';

const MAX_DELIVERIES = 3;
const LEASE_MS = 60_000; // never runs out by itself: the test expires leases where it wants

type Command =
  | { t: 'push'; n: number }
  | { t: 'claim'; c: number; want: number; lost: boolean }
  | { t: 'stale'; c: number }
  | { t: 'ack' | 'fail' | 'undo'; c: number; pick: number }
  | { t: 'expire' | 'recover' | 'close'; c: number };

const slot = fc.integer({ min: 0, max: 1 });
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ t: fc.constant('push' as const), n: fc.integer({ min: 1, max: 4 }) }),
  fc.record({
    t: fc.constant('claim' as const),
    c: slot,
    want: fc.integer({ min: 1, max: 3 }),
    lost: fc.boolean(),
  }),
  fc.record({ t: fc.constant('stale' as const), c: slot }),
  fc.record({ t: fc.constantFrom('ack' as const, 'fail' as const, 'undo' as const), c: slot, pick: fc.nat() }),
  fc.record({ t: fc.constantFrom('expire' as const, 'recover' as const, 'close' as const), c: slot }),
);

/** What a client holds: a delivery as Redis numbered it, and as the model did. */
interface Held {
  real: number;
  model: number;
  body: string;
}

/** One run: the same commands on Redis (the scripts, driven directly) and on the model, compared after each. */
async function run(redis: ReturnType<typeof withScripts>, commands: Command[]): Promise<void> {
  const keys = queueKeys(uniqueKey('model'));
  const model = new ClaimModel(MAX_DELIVERIES);
  /** Real delivery id -> model delivery id; a real id seen twice in fresh claims is a repeat. */
  const ids = new Map<number, number>();
  const slots = [0, 1].map((i) => ({ id: `c${i}-0`, generation: 0, nonce: 0, held: [] as Held[] }));
  const pushed: string[] = [];
  const acked: string[] = [];

  const claim = async (s: (typeof slots)[number], want: number, nonce: number): Promise<Held[]> => {
    const c = s.id;
    const flat = await redis.qClaim(
      keys.list,
      keys.retry,
      keys.inflight(c),
      keys.lease(c),
      keys.consumers,
      keys.staging(c),
      keys.dead,
      keys.ids,
      keys.claim(c),
      want,
      LEASE_MS,
      c,
      MAX_DELIVERIES,
      nonce,
    );
    const expected: Delivery[] = model.claim(c, want, nonce);
    const got: Held[] = [];
    const seen: [number, string][] = [];
    for (let i = 0; i < flat.length; i += 3) {
      const real = Number(flat[i]);
      const body = String(flat[i + 2]);
      seen.push([Number(flat[i + 1]), body]);
      const d = expected[got.length];
      if (d !== undefined) {
        // A known real id must be the same delivery again (a replay); an unknown one is new.
        const known = ids.get(real);
        expect(known === undefined ? d.id : known).toBe(d.id);
        ids.set(real, d.id);
      }
      got.push({ real, model: d?.id ?? -1, body });
    }
    expect(seen).toEqual(expected.map((d) => [d.deliveries, d.body]));
    return got;
  };

  const check = async (): Promise<void> => {
    expect(await redis.lrange(keys.list, 0, -1)).toEqual(model.list);
    expect(await redis.lrange(keys.retry, 0, -1)).toEqual(model.retry.map((e) => `${e.deliveries}:${e.body}`));
    expect(await redis.lrange(keys.dead, 0, -1)).toEqual(model.dead);
    const registered = [...model.consumers].filter(([, c]) => c.registered).map(([id]) => id);
    expect((await redis.smembers(keys.consumers)).sort()).toEqual(registered.sort());
    for (const [id, c] of model.consumers) {
      const real = await redis.hgetall(keys.inflight(id));
      const mapped = Object.entries(real).map(([field, value]) => [ids.get(Number(field)), value]);
      const wanted = [...c.inflight].map(([i, e]) => [i, `${e.deliveries}:${e.body}`]);
      expect(mapped.sort()).toEqual(wanted.sort());
      expect(await redis.exists(keys.lease(id))).toBe(c.leaseAlive ? 1 : 0);
    }
    // End to end: every message pushed is acked or in exactly one place in Redis.
    const custody = [
      ...model.list,
      ...model.retry.map((e) => e.body),
      ...model.dead,
      ...[...model.consumers.values()].flatMap((c) => [...c.inflight.values()].map((e) => e.body)),
    ];
    expect([...custody, ...acked].sort()).toEqual([...pushed].sort());
  };

  for (const cmd of commands) {
    if (cmd.t === 'push') {
      const bodies = Array.from({ length: cmd.n }, () => `b${pushed.length + 1}`).map((b, i) => `${b}.${i}`);
      pushed.push(...bodies);
      model.push(...bodies);
      await redis.rpush(keys.list, ...bodies);
    } else {
      const s = slots[cmd.c] as (typeof slots)[number];
      if (cmd.t === 'claim') {
        const nonce = ++s.nonce;
        // A lost reply: the claim ran, the client never saw it, and the same claim is sent again.
        if (cmd.lost) await claim(s, cmd.want, nonce);
        s.held.push(...(await claim(s, cmd.want, nonce)));
      } else if (cmd.t === 'stale') {
        // A re-send of an older claim arriving after a newer one: it takes nothing.
        if (s.nonce >= 2) expect(await claim(s, 3, s.nonce - 1)).toEqual([]);
      } else if (cmd.t === 'ack' || cmd.t === 'fail' || cmd.t === 'undo') {
        if (s.held.length === 0) continue;
        const [h] = s.held.splice(cmd.pick % s.held.length, 1) as [Held];
        if (cmd.t === 'ack') {
          if (model.consumer(s.id).inflight.has(h.model)) acked.push(h.body);
          model.ack(s.id, h.model);
          await redis.hdel(keys.inflight(s.id), String(h.real));
        } else {
          model.requeue(s.id, h.model, cmd.t === 'undo');
          await redis.qRequeue(keys.inflight(s.id), keys.retry, cmd.t === 'undo' ? 'undo' : 'count', h.real);
        }
      } else if (cmd.t === 'expire') {
        // The lease runs out while the holder lives on, keeping what it holds.
        model.expire(s.id);
        await redis.del(keys.lease(s.id));
      } else {
        const force = cmd.t === 'close';
        expect(await recover(redis, keys, s.id, force, 3_600_000)).toBe(model.recover(s.id, force));
        if (force) {
          // A closed consumer is gone; the slot's next consumer has a new id.
          s.id = `c${cmd.c}-${++s.generation}`;
          s.nonce = 0;
          s.held = [];
        }
      }
    }
    await check();
  }
}

describe('claim / settle / recover against a model (fast-check)', () => {
  it('Redis and the model agree after every step; nothing is lost, no delivery id repeats', async () => {
    const redis = withScripts(client());
    await assertSeeded(
      'claim model',
      fc.asyncProperty(fc.array(command, { maxLength: 40 }), (commands) => run(redis, commands)),
      100,
    );
  }, 120_000);
});
