import { InvalidOptionError } from '@q/core';

/**
 * The keys of one queue. Every key shares the list key's Redis Cluster hash slot: if the list key
 * has a hash tag (`{orders}:jobs`) the others repeat it; otherwise they use the whole list key as
 * their tag (`jobs` -> `{jobs}:q:...`), which hashes to the same slot as `jobs` itself. A key with
 * no tag but a `}` (`jobs{}`, `{}jobs`, `jobs}`) cannot be wrapped that way (Redis would cut the tag
 * at that `}`), so {@link queueKeys} refuses it.
 *
 * | key | type | holds |
 * |---|---|---|
 * | `<list>` | list | the messages; pushers `RPUSH`, consumers pop from the left (FIFO) |
 * | `<tag>:q:retry` | list | messages handed back, as `<deliveries>:<body>`; claimed before the main list |
 * | `<tag>:q:dead` | list | messages over `maxDeliveries` (at-least-once) |
 * | `<tag>:q:consumers` | set | ids of at-least-once consumers that may hold messages |
 * | `<tag>:q:inflight:<id>` | hash | delivery id -> `<deliveries>:<body>`, per consumer |
 * | `<tag>:q:lease:<id>` | string with TTL | the consumer is alive while it exists |
 * | `<tag>:q:staging:<id>` | list | a message moved by a blocking `BLMOVE`, not yet claimed |
 * | `<tag>:q:claim:<id>` | hash, TTL | the consumer's last claim: nonce, first id, count (a re-sent claim replays it); `gone` once recovered |
 * | `<tag>:q:ids` | string | the queue's last delivery id; never deleted, so ids never repeat |
 * | `<tag>:q:outbox-hwm` | hash | outbox id -> highest sequence pushed (`RedisListPusher`'s `dedupe: 'outbox-id'`) |
 * | `<tag>:q:readers` | sorted set, TTL | producer id -> when its registration ends (server time, ms); `RedisListPusher`'s `mandatory` |
 */
export interface QueueKeys {
  /** The list itself. */
  readonly list: string;
  /** Messages handed back, as `<deliveries>:<body>`; claimed before the list. */
  readonly retry: string;
  /** Messages over `maxDeliveries`. */
  readonly dead: string;
  /** Ids of the at-least-once consumers that may hold messages. */
  readonly consumers: string;
  /** The queue's last delivery id: one counter for every consumer, never deleted. */
  readonly ids: string;
  /**
   * The high-water marks of a `RedisListPusher` with `dedupe: 'outbox-id'` (its default
   * `highWaterKey`): outbox id -> highest sequence pushed to the list.
   */
  readonly outboxHighWater: string;
  /**
   * The producers reading the list, of both modes: id -> the server time (ms) their registration
   * ends. A `RedisListPusher` with `mandatory` refuses pushes while it holds no live entry.
   */
  readonly readers: string;
  /** A consumer's in-flight hash: delivery id -> `<deliveries>:<body>`. */
  inflight(consumer: string): string;
  /** A consumer's lease: alive while the key exists. */
  lease(consumer: string): string;
  /** A consumer's staging list: a message moved by a blocking `BLMOVE`, not yet claimed. */
  staging(consumer: string): string;
  /** A consumer's last claim (`nonce`, `first` id, `count`), so a claim re-sent after a lost reply replays it. */
  claim(consumer: string): string;
  /**
   * The per-consumer delivery id counter of earlier versions, which recovery deleted, so ids
   * repeated after a lease ran out while its holder lived. No longer written: see {@link QueueKeys.ids}.
   * @deprecated delivery ids come from the queue-wide {@link QueueKeys.ids}.
   */
  seq(consumer: string): string;
}

/** The hash tag of a key as Redis Cluster reads it: the text in the first `{...}`, if not empty. */
export function hashTag(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open === -1) return undefined;
  const close = key.indexOf('}', open + 1);
  if (close === -1 || close === open + 1) return undefined;
  return key.slice(open + 1, close);
}

/**
 * The keys of the queue whose list is `list`.
 * @throws {InvalidOptionError} (option `key`) when `list` has no hash tag but contains `}`: Redis
 *   hashes such a key whole, and no key derived from it could share its slot on a cluster.
 */
export function queueKeys(list: string): QueueKeys {
  const tag = hashTag(list);
  if (tag === undefined && list.includes('}')) {
    throw new InvalidOptionError(
      'key',
      list,
      'a key whose hash tag is not empty ("{orders}:jobs") or a key without "}" ("jobs"); Redis hashes "jobs{}" whole, so the queue\'s other keys could not share its Cluster slot',
    );
  }
  // With a tag, the list key itself (carrying the tag) prefixes the rest; without, `{list}` does.
  const prefix = tag === undefined ? `{${list}}:q` : `${list}:q`;
  return {
    list,
    retry: `${prefix}:retry`,
    dead: `${prefix}:dead`,
    consumers: `${prefix}:consumers`,
    ids: `${prefix}:ids`,
    outboxHighWater: `${prefix}:outbox-hwm`,
    readers: `${prefix}:readers`,
    inflight: (c) => `${prefix}:inflight:${c}`,
    lease: (c) => `${prefix}:lease:${c}`,
    staging: (c) => `${prefix}:staging:${c}`,
    claim: (c) => `${prefix}:claim:${c}`,
    seq: (c) => `${prefix}:seq:${c}`,
  };
}

/** The keys of one at-least-once consumer, named once. */
export interface ConsumerKeys {
  readonly inflight: string;
  readonly lease: string;
  readonly staging: string;
  readonly claim: string;
}

/** The keys of `consumer` in the queue of `keys`. */
export function consumerKeys(keys: QueueKeys, consumer: string): ConsumerKeys {
  return {
    inflight: keys.inflight(consumer),
    lease: keys.lease(consumer),
    staging: keys.staging(consumer),
    claim: keys.claim(consumer),
  };
}
