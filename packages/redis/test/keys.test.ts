import { createRequire } from 'node:module';
import { InvalidOptionError } from '@q/core';
import { queueKeys, redisListProducerFactory } from '@q/redis';
import { describe, expect, it } from 'vitest';
import { client } from './support/clients.js';

// ioredis's own slot function, the one it routes Cluster commands with.
const slotOf = createRequire(import.meta.resolve('ioredis'))('cluster-key-slot') as (key: string) => number;

describe('queue keys and Redis Cluster hash slots', () => {
  it.each(['jobs', '{orders}:jobs', 'a{b}c', '{{x}}', '{jobs', 'x{y}}z', 'a{b}{c}'])(
    'every key of list %j is in the list key own slot',
    (list) => {
      const k = queueKeys(list);
      const all = [
        k.list,
        k.retry,
        k.dead,
        k.consumers,
        k.ids,
        k.outboxHighWater,
        k.inflight('c'),
        k.lease('c'),
        k.staging('c'),
        k.claim('c'),
      ];
      expect(new Set(all.map(slotOf))).toEqual(new Set([slotOf(list)]));
    },
  );

  // Redis hashes these whole (the first "{" is followed by "}" with nothing between, or there is a
  // "}" without a tag): no derived key name can share their slot, so they are refused upfront rather
  // than failing every script with CROSSSLOT on a cluster.
  it.each(['jobs{}', '{}jobs', 'a{}{b}', 'jobs}', '}{x'])(
    'list key %j is refused with InvalidOptionError naming key',
    (list) => {
      expect(() => queueKeys(list)).toThrow(InvalidOptionError);
      expect(() => queueKeys(list)).toThrow(/key/);
      expect(() => redisListProducerFactory({ redis: client(), key: list })).toThrow(InvalidOptionError);
    },
  );
});
