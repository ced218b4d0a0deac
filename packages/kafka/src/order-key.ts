/**
 * Order keys: what `KafkaQueue` tells the core queue to serialize on. They are small integers
 * rather than strings: a fetched batch holds thousands of messages, and turning every key into a
 * string (and hashing that string again in the queue) cost more than the rest of the key path.
 */

/** Order keys fit V8's small integers, so they are never boxed. */
const MASK = 0x3fffffff;

/** The order key of every message of a partition in `partition` mode: the partition's own number. */
export function partitionOrderKey(partitionId: number): number {
  return partitionId & MASK;
}

/**
 * The order key of a message in `key` mode: an FNV-1a hash of the key bytes, seeded with the
 * partition's number. Two keys that collide are serialized together, in their order: ordering is
 * never weaker than per key, only (rarely) stronger.
 */
export function keyOrderKey(partitionId: number, key: Uint8Array): number {
  let h = Math.imul(0x811c9dc5 ^ partitionId, 16777619);
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ (key[i] as number), 16777619);
  return h & MASK;
}
