/**
 * The keys of one queue. Every key shares the list key's Redis Cluster hash slot: if the list key
 * has a hash tag (`{orders}:jobs`) the others repeat it; otherwise they use the whole list key as
 * their tag (`jobs` -> `{jobs}:q:...`), which hashes to the same slot as `jobs` itself.
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
 * | `<tag>:q:seq:<id>` | string | the consumer's last delivery id |
 */
export interface QueueKeys {
  readonly list: string;
  readonly retry: string;
  readonly dead: string;
  readonly consumers: string;
  inflight(consumer: string): string;
  lease(consumer: string): string;
  staging(consumer: string): string;
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

/** The keys of the queue whose list is `list`. */
export function queueKeys(list: string): QueueKeys {
  const tag = hashTag(list);
  // With a tag, the list key itself (carrying the tag) prefixes the rest; without, `{list}` does.
  const prefix = tag === undefined ? `{${list}}:q` : `${list}:q`;
  return {
    list,
    retry: `${prefix}:retry`,
    dead: `${prefix}:dead`,
    consumers: `${prefix}:consumers`,
    inflight: (c) => `${prefix}:inflight:${c}`,
    lease: (c) => `${prefix}:lease:${c}`,
    staging: (c) => `${prefix}:staging:${c}`,
    seq: (c) => `${prefix}:seq:${c}`,
  };
}
