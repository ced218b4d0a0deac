import type { Logger } from '@q/core';
import type { GroupConsumerClient, TopicPartition } from './client.js';
import { PartitionTracker } from './offset-tracker.js';
import { partitionKey } from './partition-key.js';

/**
 * The partitions one member owns now, each with its offset tracker, and their commits: what is
 * committed is each tracker's commit point, never backwards, never for a revoked partition.
 */
export class PartitionCommits {
  readonly #client: GroupConsumerClient;
  readonly #group: string;
  readonly #logger: Logger;
  readonly #trackers = new Map<string, PartitionTracker>();
  /**
   * One id per topic-partition for the member's life, not per tracker: when a partition comes back
   * after a rebalance, its new messages must still queue behind the old owner's messages running.
   */
  readonly #partitionIds = new Map<string, number>();
  #committing: Promise<void> = Promise.resolve();

  constructor(client: GroupConsumerClient, group: string, logger: Logger) {
    this.#client = client;
    this.#group = group;
    this.#logger = logger;
  }

  /** The tracker of a fetched partition: a new one when it is new here or came back after a revocation. */
  trackerFor(key: string, topic: string, partition: number): PartitionTracker {
    const tracker = this.#trackers.get(key);
    if (tracker !== undefined && !tracker.revoked) return tracker;
    let id = this.#partitionIds.get(key);
    if (id === undefined) {
      id = this.#partitionIds.size;
      this.#partitionIds.set(key, id);
    }
    const fresh = new PartitionTracker(topic, partition, id);
    this.#trackers.set(key, fresh);
    return fresh;
  }

  /**
   * The group's new assignment: partitions no longer owned are revoked (their settlements no longer
   * commit; the new owner resumes from the last commit). Returns the keys of the revoked ones.
   */
  assigned(partitions: readonly TopicPartition[]): string[] {
    const owned = new Set(partitions.map((p) => partitionKey(p.topic, p.partition)));
    const revoked: string[] = [];
    for (const [key, t] of this.#trackers) {
      if (owned.has(key)) continue;
      t.revoked = true;
      this.#trackers.delete(key);
      revoked.push(key);
    }
    return revoked;
  }

  /** The partitions with a tracker (fetched from since their assignment). */
  owned(): TopicPartition[] {
    return [...this.#trackers.values()].map((t) => ({ topic: t.topic, partition: t.partition }));
  }

  /** Commits every partition whose commit point moved. Serialized; errors are retried next time. */
  commit(): Promise<void> {
    this.#committing = this.#committing.then(async () => {
      const offsets: (TopicPartition & { offset: string })[] = [];
      const moved: [PartitionTracker, bigint][] = [];
      for (const t of this.#trackers.values()) {
        if (t.revoked) continue;
        const point = t.commitPoint();
        // Never backwards: a partition fetched again from its last commit (a client re-seek) appends
        // offsets already settled, and their copies would otherwise pull the commit point back.
        if (point === undefined || (t.committed !== undefined && point <= t.committed)) continue;
        offsets.push({ topic: t.topic, partition: t.partition, offset: point.toString() });
        moved.push([t, point]);
      }
      if (offsets.length === 0) return;
      try {
        await this.#client.commit(offsets);
        for (const [t, point] of moved) t.committed = point;
      } catch (error) {
        this.#logger.warn('offset commit failed; retrying at the next interval', {
          group: this.#group,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    });
    return this.#committing;
  }

  /** What was committed, per partition (for tests and monitoring). */
  committed(): (TopicPartition & { offset: bigint | undefined })[] {
    return [...this.#trackers.values()].map((t) => ({ topic: t.topic, partition: t.partition, offset: t.committed }));
  }
}
