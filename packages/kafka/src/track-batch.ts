import type { FetchedRecord } from './client.js';
import type { Ordering } from './kafka-queue-config.js';
import type { PartitionTracker, TrackedMessage } from './offset-tracker.js';
import { keyOrderKey, partitionOrderKey } from './order-key.js';
import type { ReceiveExpiry } from './receive-expiry.js';

/**
 * Wraps one partition's fetched records for the queue, in the tracker's offset order. In key mode the
 * batch is regrouped by key (stable within a key): consecutive messages of a key then reach one
 * consumer loop as one run, while the tracker still commits in offset order. Records the tracker has
 * seen before (a re-fetch), records the last commit's offset map lists and, with the tracker's
 * {@link PartitionTracker.replays} filter, replays of an outbox's messages are not handed out (the
 * last two count as settled). With `expiry`, a record whose `q-expires-at` has passed is either
 * settled at once and not handed out (no dead-letter destination) or handed out marked `expired`,
 * for the member to dead-letter. Every decision is made in offset order, before key mode regroups.
 */
export function trackBatch(
  tracker: PartitionTracker,
  fetched: readonly FetchedRecord[],
  ordering: Ordering,
  expiry?: ReceiveExpiry,
): TrackedMessage[] {
  const records = tracker.unseen(fetched);
  // While the last commit's offset map is ahead, what it lists counts as settled and is not handed
  // out; skips and adds must go in offset order, so the check sits inside each loop.
  const skipping = tracker.skipping;
  const replays = tracker.replays;
  /** Whether `r` is settled here and not handed out: in the offset map, or a replay dropped. */
  const held = (r: FetchedRecord): boolean => {
    if (skipping && tracker.skips(r)) {
      // Settled by an earlier owner: it still counts as seen for the replays after it.
      replays?.see(r.headers);
      return true;
    }
    if (replays === undefined || !replays.drop(r.headers)) return false;
    tracker.addSettled(r);
    return true;
  };
  const filtering = skipping || replays !== undefined;
  /** `r` tracked and to hand out, or undefined when it expired and is skipped (settled at once). */
  const add = (r: FetchedRecord, orderKey: number | undefined): TrackedMessage | undefined => {
    if (expiry === undefined || !expiry.expired(r)) return tracker.add(r, orderKey);
    if (expiry.skipping) {
      tracker.addSettled(r);
      expiry.skipped();
      return undefined;
    }
    const entry = tracker.add(r, orderKey);
    entry.expired = true;
    return entry;
  };
  if (ordering !== 'key') {
    const orderKey = ordering === 'partition' ? partitionOrderKey(tracker.id) : undefined;
    if (!filtering && expiry === undefined) return records.map((r) => tracker.add(r, orderKey));
    const out: TrackedMessage[] = [];
    for (const r of records) {
      if (filtering && held(r)) continue;
      const entry = add(r, orderKey);
      if (entry !== undefined) out.push(entry);
    }
    return out;
  }
  const byKey = new Map<number, TrackedMessage[]>();
  const unkeyed: TrackedMessage[] = [];
  for (const r of records) {
    if (filtering && held(r)) continue;
    if (r.key === null || r.key === undefined) {
      const entry = add(r, undefined);
      if (entry !== undefined) unkeyed.push(entry);
      continue;
    }
    const orderKey = keyOrderKey(tracker.id, r.key);
    const entry = add(r, orderKey);
    if (entry === undefined) continue;
    const run = byKey.get(orderKey);
    if (run === undefined) byKey.set(orderKey, [entry]);
    else run.push(entry);
  }
  const out: TrackedMessage[] = [];
  for (const run of byKey.values()) for (const entry of run) out.push(entry);
  for (const entry of unkeyed) out.push(entry);
  return out;
}
