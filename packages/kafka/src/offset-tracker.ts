import { Deque } from '@q/core';
import type { FetchedRecord, KafkaMessage } from './client.js';

const NO_HEADERS: Readonly<Record<string, Buffer | string | undefined>> = Object.freeze({});

/**
 * A fetched record tied to its partition tracker: what the handler receives (it is a
 * {@link KafkaMessage}) and what settlement marks. One object per message, reading through to the
 * client's record rather than copying it.
 */
export class TrackedMessage implements KafkaMessage {
  readonly tracker: PartitionTracker;
  readonly #record: FetchedRecord;
  /** What the queue orders by (partition, partition and key, or nothing), worked out once. */
  readonly orderKey: number | undefined;
  done = false;

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

/**
 * One partition's offsets in fetch order. Messages may finish in any order; the offset to commit is
 * always the lowest message not yet settled (or one past the last, when all are), so a commit never
 * passes unfinished work — kq commits the highest finished offset, and a crash loses what was below.
 */
export class PartitionTracker {
  readonly topic: string;
  readonly partition: number;
  /** Set when the partition was taken away by a rebalance: its settlements no longer commit. */
  revoked = false;
  /**
   * Fetched messages from the first unsettled one on, in offset order. Settled messages at the head
   * leave at once: holding a partition's settled messages until the next commit tick kept hundreds
   * of thousands of records alive into the old generation, and garbage collection ate the throughput.
   */
  readonly #entries = new Deque<TrackedMessage>(1024);
  /** Offset of the last message that left the head settled (parsed only when a commit asks). */
  #lastSettled: string | undefined;
  /** What was last committed (the next offset to read). */
  committed: bigint | undefined;

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

  add(record: FetchedRecord, orderKey?: number): TrackedMessage {
    const entry = new TrackedMessage(this, record, orderKey);
    this.#entries.push(entry);
    return entry;
  }

  /** Marks a message settled; settled messages at the head are let go. */
  settle(entry: TrackedMessage): void {
    entry.done = true;
    if (this.#entries.peek() !== entry) return;
    const entries = this.#entries;
    for (let head = entries.peek(); head?.done === true; head = entries.peek()) {
      this.#lastSettled = head.offset;
      entries.shift();
    }
  }

  /** Messages fetched and not yet settled at the head. */
  get pending(): number {
    return this.#entries.length;
  }

  /**
   * The offset to commit now: the first unsettled message's offset, or one past the last settled
   * one. Undefined while nothing has settled yet.
   */
  commitPoint(): bigint | undefined {
    return this.#lastSettled === undefined ? undefined : BigInt(this.#lastSettled) + 1n;
  }
}
