import type { KafkaMessage } from './client.js';

/** A fetched message and the partition tracker that owns it. */
export interface TrackedMessage {
  readonly message: KafkaMessage;
  readonly tracker: PartitionTracker;
  readonly offset: bigint;
  done: boolean;
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
  #entries: TrackedMessage[] = [];
  #head = 0;
  /** The next offset after every settled message at the head, once any has settled. */
  #settledUpTo: bigint | undefined;
  /** What was last committed (the next offset to read). */
  committed: bigint | undefined;

  constructor(topic: string, partition: number) {
    this.topic = topic;
    this.partition = partition;
  }

  add(message: KafkaMessage): TrackedMessage {
    const entry: TrackedMessage = { message, tracker: this, offset: BigInt(message.offset), done: false };
    this.#entries.push(entry);
    return entry;
  }

  /** Marks a message settled. */
  settle(entry: TrackedMessage): void {
    entry.done = true;
  }

  /** Messages fetched and not yet settled at the head. */
  get pending(): number {
    return this.#entries.length - this.#head;
  }

  /**
   * The offset to commit now: the first unsettled message's offset, or one past the last settled
   * one. Undefined when nothing was settled since the last commit point moved.
   */
  commitPoint(): bigint | undefined {
    while (this.#head < this.#entries.length) {
      const e = this.#entries[this.#head] as TrackedMessage;
      if (!e.done) break;
      this.#settledUpTo = e.offset + 1n;
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
    return this.#settledUpTo;
  }
}
