import type { Logger } from '@q/core';
import type { GroupConsumerClient, TopicPartition } from './client.js';
import { OffsetMetadataTooLargeError } from './errors.js';
import { DEFAULT_METADATA_BUDGET } from './offset-map.js';
import { PartitionTracker, type PendingCommit } from './offset-tracker.js';
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
  readonly #offsetMap: boolean;
  /** Metadata length the broker takes; halved when a commit with a map is refused and one without is not. */
  #metadataBudget = DEFAULT_METADATA_BUDGET;

  /** @param offsetMap Whether commits carry the offset map (the `offsetMap` option). */
  constructor(client: GroupConsumerClient, group: string, logger: Logger, offsetMap = true) {
    this.#client = client;
    this.#group = group;
    this.#logger = logger;
    this.#offsetMap = offsetMap;
  }

  /** Whether a fetched partition already has its tracker (only a new one needs its offset map). */
  tracking(key: string): boolean {
    const tracker = this.#trackers.get(key);
    return tracker !== undefined && !tracker.revoked;
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

  /**
   * Commits every partition whose commit point (or, with the offset map, whose settled set above it)
   * moved, never backwards. Serialized; errors are retried next time.
   */
  commit(): Promise<void> {
    this.#committing = this.#committing.then(async () => {
      const offsets: (TopicPartition & { offset: string; metadata?: string })[] = [];
      const moved: [PartitionTracker, PendingCommit][] = [];
      for (const t of this.#trackers.values()) {
        if (t.revoked) continue;
        const next = t.nextCommit(this.#offsetMap, this.#metadataBudget);
        if (next === undefined) continue;
        offsets.push({
          topic: t.topic,
          partition: t.partition,
          offset: next.offset.toString(),
          metadata: next.metadata,
        });
        moved.push([t, next]);
      }
      if (offsets.length === 0) return;
      try {
        await this.#commitOrShrink(offsets);
        for (const [t, next] of moved) t.markCommitted(next);
      } catch (error) {
        this.#logger.warn(
          { group: this.#group, err: error instanceof Error ? error.message : String(error) },
          'offset commit failed; retrying at the next interval',
        );
      }
    });
    return this.#committing;
  }

  /**
   * Sends a commit. A broker with a smaller `offset.metadata.max.bytes` than the default refuses the
   * whole request; then the same offsets go without maps (the commit point matters more) and later
   * maps get half the room, so commits never stall on metadata.
   */
  async #commitOrShrink(offsets: (TopicPartition & { offset: string; metadata?: string })[]): Promise<void> {
    try {
      await this.#client.commit(offsets);
    } catch (error) {
      if (!(error instanceof OffsetMetadataTooLargeError)) throw error;
      await this.#client.commit(offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })));
      this.#metadataBudget = Math.max(64, this.#metadataBudget >> 1);
      this.#logger.warn(
        {
          group: this.#group,
          metadataBudget: this.#metadataBudget,
          err: error instanceof Error ? error.message : String(error),
        },
        'offset commit with offset maps refused, committed without; maps get less room',
      );
    }
  }

  /** What was committed, per partition (for tests and monitoring). */
  committed(): (TopicPartition & { offset: bigint | undefined })[] {
    return [...this.#trackers.values()].map((t) => ({ topic: t.topic, partition: t.partition, offset: t.committed }));
  }
}
