import type { FetchedRecord } from './client.js';
import type { Ordering } from './kafka-queue-config.js';
import type { PartitionTracker, TrackedMessage } from './offset-tracker.js';
import { keyOrderKey, partitionOrderKey } from './order-key.js';

/**
 * Wraps one partition's fetched records for the queue, in the tracker's offset order. In key mode the
 * batch is regrouped by key (stable within a key): consecutive messages of a key then reach one
 * consumer loop as one run, while the tracker still commits in offset order. Records the tracker has
 * seen before (a re-fetch), records the last commit's offset map lists and, with the tracker's
 * {@link PartitionTracker.replays} filter, replays of an outbox's messages are not handed out (the
 * last two count as settled). Every decision is made in offset order, before key mode regroups.
 */
export function trackBatch(
  tracker: PartitionTracker,
  fetched: readonly FetchedRecord[],
  ordering: Ordering,
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
  if (ordering !== 'key') {
    const orderKey = ordering === 'partition' ? partitionOrderKey(tracker.id) : undefined;
    if (!skipping && replays === undefined) return records.map((r) => tracker.add(r, orderKey));
    const out: TrackedMessage[] = [];
    for (const r of records) if (!held(r)) out.push(tracker.add(r, orderKey));
    return out;
  }
  const byKey = new Map<number, TrackedMessage[]>();
  const unkeyed: TrackedMessage[] = [];
  for (const r of records) {
    if ((skipping || replays !== undefined) && held(r)) continue;
    if (r.key === null || r.key === undefined) {
      unkeyed.push(tracker.add(r));
      continue;
    }
    const orderKey = keyOrderKey(tracker.id, r.key);
    const entry = tracker.add(r, orderKey);
    const run = byKey.get(orderKey);
    if (run === undefined) byKey.set(orderKey, [entry]);
    else run.push(entry);
  }
  const out: TrackedMessage[] = [];
  for (const run of byKey.values()) for (const entry of run) out.push(entry);
  for (const entry of unkeyed) out.push(entry);
  return out;
}
