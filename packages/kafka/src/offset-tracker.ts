import { OrderedCommits } from '@q/core/internal';
import type { FetchedRecord, KafkaMessage } from './client.js';
import { OffsetMapBuilder, type OffsetSkipSet } from './offset-map.js';
import type { OutboxReplayFilter } from './outbox-replays.js';

const NO_HEADERS: Readonly<Record<string, Buffer | string | undefined>> = Object.freeze({});

/**
 * A fetched record tied to its partition tracker: what the handler receives (it is a
 * {@link KafkaMessage}) and what settlement marks. One object per message, reading through to the
 * client's record rather than copying it.
 */
export class TrackedMessage implements KafkaMessage {
  /** The tracker of its partition, which it is settled in. */
  readonly tracker: PartitionTracker;
  readonly #record: FetchedRecord;
  /** What the queue orders by (partition, partition and key, or nothing), worked out once. */
  readonly orderKey: number | undefined;
  /** Whether it was settled (set by its tracker). */
  done = false;
  /**
   * Whether its `q-expires-at` had passed when it was fetched: it is dead-lettered with reason
   * `expired` instead of being handed to the handler.
   */
  expired = false;

  constructor(tracker: PartitionTracker, record: FetchedRecord, orderKey: number | undefined) {
    this.tracker = tracker;
    this.#record = record;
    this.orderKey = orderKey;
  }
  get topic(): string {
    return this.tracker.topic;
  }
  get partition(): number {
    return this.tracker.partition;
  }
  get offset(): string {
    return this.#record.offset;
  }
  get key(): Buffer | null {
    return this.#record.key ?? null;
  }
  get value(): Buffer | null {
    return this.#record.value ?? null;
  }
  get headers(): Readonly<Record<string, Buffer | string | undefined>> {
    return this.#record.headers ?? NO_HEADERS;
  }
  get timestamp(): string {
    return this.#record.timestamp;
  }
  /** Itself: kept so code written against `{ message }` wrappers reads naturally. */
  get message(): KafkaMessage {
    return this;
  }
}

/** A commit worked out by {@link PartitionTracker.nextCommit}, to send and then mark. */
export interface PendingCommit {
  /** The next offset to read. */
  readonly offset: bigint;
  /** The offset map of what is settled above it, if any and if enabled. */
  readonly metadata: string | undefined;
  /** The tracker's settlement count when this was worked out. */
  readonly settles: number;
}

/**
 * One partition's offsets in fetch order. Messages may finish in any order; the offset to commit is
 * always the lowest message not yet settled (or one past the last, when all are), so a commit never
 * passes unfinished work — kq commits the highest finished offset, and a crash loses what was below.
 * The ordering rule itself is `OrderedCommits` from `@q/core/internal`, shared with `@q/log`'s
 * producer; what is Kafka's here is the offsets as strings, re-fetch copies and offset maps.
 */
export class PartitionTracker {
  /** The topic of the partition. */
  readonly topic: string;
  /** The partition's number within its topic. */
  readonly partition: number;
  /** Set when the partition was taken away by a rebalance: its settlements no longer commit. */
  revoked = false;
  /**
   * Fetched messages from the first unsettled one on, in offset order. Settled messages at the head
   * leave at once: holding a partition's settled messages until the next commit tick kept hundreds
   * of thousands of records alive into the old generation, and garbage collection ate the throughput.
   * The last one that left is the commit point's base (its offset parsed only when a commit asks).
   */
  readonly #entries = new OrderedCommits<TrackedMessage>(1024);
  /** What was last committed (the next offset to read). */
  committed: bigint | undefined;
  /**
   * Settlements so far (one increment each): a commit is worth sending when this moved even if the
   * commit point did not, because the offset map it carries did.
   */
  settles = 0;
  /** {@link settles} as of the last successful commit. */
  committedSettles = 0;
  /**
   * The offsets the last commit's map said were settled, while fetching has not passed them: they
   * are not handed out again, and they stay in this tracker's own maps until fetched.
   */
  #skip: OffsetSkipSet | undefined;
  /** Highest offset tracked so far (-1: none), to drop a re-fetch's copies a batch at a time. */
  #highest = -1;
  /**
   * The `dedupe: 'outbox-id'` state of this assignment of the partition, when enabled: a tracker is
   * made per assignment, so a partition revoked and assigned again starts with nothing seen.
   */
  replays: OutboxReplayFilter | undefined;

  /**
   * The partition's number within its consumer (the same for every tracker of that partition): the
   * seed of its messages' order keys.
   */
  readonly id: number;

  constructor(topic: string, partition: number, id = 0) {
    this.topic = topic;
    this.partition = partition;
    this.id = id;
  }

  /** Tracks a fetched record (in offset order) and returns it as the message the queue handles. */
  add(record: FetchedRecord, orderKey?: number): TrackedMessage {
    const entry = new TrackedMessage(this, record, orderKey);
    this.#entries.track(entry);
    return entry;
  }

  /**
   * Tracks a record that is settled at once and never handed out (a replay that `dedupe` dropped):
   * the commit point moves past it as past any handled message, in offset order.
   */
  addSettled(record: FetchedRecord): void {
    this.settle(this.add(record));
  }

  /**
   * The records of a fetched batch not tracked here before. A client re-seek (kafkajs, after a
   * rebalance that left the partition with this member) fetches again from the last commit; those
   * copies are running or settled here already, and handing them out again would only run them
   * twice. Two offset parses per batch; a filter only for a batch that overlaps.
   */
  unseen(records: readonly FetchedRecord[]): readonly FetchedRecord[] {
    const n = records.length;
    if (n === 0) return records;
    const highest = this.#highest;
    const last = Number((records[n - 1] as FetchedRecord).offset);
    if (last > highest) this.#highest = last;
    if (Number((records[0] as FetchedRecord).offset) > highest) return records;
    return records.filter((r) => Number(r.offset) > highest);
  }

  /**
   * Starts skipping what a commit's offset map says was settled (the partition is new to this
   * reader). Only then does {@link skips} have anything to do.
   */
  skipSettled(set: OffsetSkipSet): void {
    this.#skip = set;
  }

  /** True while an offset map from the last commit is still ahead of the fetch position. */
  get skipping(): boolean {
    return this.#skip !== undefined;
  }

  /**
   * Whether a fetched record is one the offset map says was settled; if so it counts as settled
   * here (so the commit point moves past it) and is not handed out. O(1) per record in fetch order.
   */
  skips(record: FetchedRecord): boolean {
    const skip = this.#skip;
    if (skip === undefined) return false;
    const offset = Number(record.offset);
    if (offset >= skip.end) {
      // Fetching passed the map: everything in it is now tracked (or let go) here.
      this.#skip = undefined;
      return false;
    }
    if (!skip.has(offset)) return false;
    const entry = new TrackedMessage(this, record, undefined);
    entry.done = true;
    this.#entries.track(entry);
    return true;
  }

  /** Marks a message settled; settled messages at the head are let go. */
  settle(entry: TrackedMessage): void {
    this.settles++;
    this.#entries.settle(entry);
  }

  /** Messages fetched and not yet settled at the head. */
  get pending(): number {
    return this.#entries.pending;
  }

  /**
   * The offset to commit now: the first unsettled message's offset, or one past the last settled
   * one. Undefined while nothing has settled yet.
   */
  commitPoint(): bigint | undefined {
    const last = this.#entries.lastSettled;
    return last === undefined ? undefined : BigInt(last.offset) + 1n;
  }

  /**
   * What to commit now, or undefined when nothing would change: the commit point, never backwards,
   * with its offset map when `offsetMap` is on. With the map a commit is also worth sending when the
   * point stayed but more settled above it, and, before anything settled at the head, at the head's
   * own offset: a slow first message must not keep everything settled behind it out of the commit.
   */
  nextCommit(offsetMap: boolean, budget?: number): PendingCommit | undefined {
    const changed = offsetMap && this.settles !== this.committedSettles;
    let point = this.commitPoint();
    if (point === undefined) {
      const head = this.#entries.head;
      if (!changed || head === undefined) return undefined;
      point = BigInt(head.offset);
    }
    // Never backwards: a partition fetched again from its last commit (a client re-seek) appends
    // offsets already settled, and their copies would otherwise pull the commit point back.
    if (this.committed !== undefined && (point < this.committed || (point === this.committed && !changed))) {
      return undefined;
    }
    return { offset: point, metadata: offsetMap ? this.offsetMap(point, budget) : undefined, settles: this.settles };
  }

  /** Records a commit the broker accepted. */
  markCommitted(commit: PendingCommit): void {
    this.committed = commit.offset;
    this.committedSettles = commit.settles;
  }

  /**
   * The offset map to commit with `point`: the settled offsets above it (those held here, then those
   * of a skip map not fetched yet), or undefined when there are none. Walks the held messages once,
   * stopping when the budget is spent; called per commit, never per message.
   */
  offsetMap(point: bigint, budget?: number): string | undefined {
    const entries = this.#entries;
    if (entries.pending === 0 && this.#skip === undefined) return undefined;
    const builder = new OffsetMapBuilder(point, budget);
    const origin = Number(point);
    // Offsets at or below one already seen are a re-fetch's copies: the first copy speaks for them.
    let last = origin - 1;
    for (let i = 0; i < entries.pending && !builder.full; i++) {
      const entry = entries.at(i) as TrackedMessage;
      const offset = Number(entry.offset);
      if (offset <= last) continue;
      last = offset;
      if (entry.done) builder.add(offset - origin);
    }
    if (this.#skip !== undefined && !builder.full) {
      this.#skip.forEachFrom(last + 1, (start, end) => builder.addRange(start - origin, end - origin));
    }
    return builder.encode();
  }
}
