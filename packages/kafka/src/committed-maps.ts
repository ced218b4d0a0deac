import type { Logger } from '@q/core';
import type { GroupConsumerClient, TopicPartition } from './client.js';
import { OffsetSkipSet } from './offset-map.js';
import { partitionKey } from './partition-key.js';

/**
 * The offset maps of the partitions a member was just given, read from their last commits: which
 * offsets above each commit point were settled already, so the new reader does not hand them out
 * again. Read once per assignment, per newly owned partition; a partition's first fetched batch
 * waits for it (bounded), and without it (error, timeout, a client that cannot read metadata) the
 * partition is simply read as before, everything above the commit point redone.
 */
export class CommittedMaps {
  readonly #client: GroupConsumerClient;
  readonly #logger: Logger;
  readonly #enabled: boolean;
  readonly #timeoutMs: number;
  /** Keys of the partitions owned now; undefined until the first assignment is known. */
  #owned: Set<string> | undefined;
  /** Maps being read (or read) for newly owned partitions, until their first batch takes them. */
  readonly #loads = new Map<string, Promise<Map<string, OffsetSkipSet>>>();
  /** Resolves when the member stops: a batch waiting for its map stops waiting. */
  readonly #stopped: Promise<undefined>;
  #stop: () => void = () => {};

  /**
   * @param enabled The `offsetMap` option: when false nothing is read.
   * @param timeoutMs How long a partition's first batch waits for its map before going without.
   */
  constructor(client: GroupConsumerClient, logger: Logger, enabled: boolean, timeoutMs: number) {
    this.#client = client;
    this.#logger = logger;
    this.#enabled = enabled && client.fetchCommitted !== undefined;
    this.#timeoutMs = timeoutMs;
    this.#stopped = new Promise((resolve) => {
      this.#stop = () => resolve(undefined);
    });
  }

  /**
   * The member is stopping: batches waiting for a map return without one at once (the batch is not
   * taken anyway while stopping), so a slow read cannot hold the stop past its deadline.
   */
  stop(): void {
    this.#stop();
  }

  /** The group's new assignment: starts reading the maps of the partitions that are new here. */
  assigned(partitions: readonly TopicPartition[]): void {
    const owned = new Set<string>();
    const fresh: TopicPartition[] = [];
    for (const p of partitions) {
      const key = partitionKey(p.topic, p.partition);
      owned.add(key);
      if (this.#owned?.has(key) !== true) fresh.push(p);
    }
    for (const key of this.#loads.keys()) if (!owned.has(key)) this.#loads.delete(key);
    this.#owned = owned;
    if (!this.#enabled || fresh.length === 0) return;
    const load = this.#read(fresh);
    for (const p of fresh) this.#loads.set(partitionKey(p.topic, p.partition), load);
  }

  /** Whether the partition is owned now (an await may have seen it revoked); true before any assignment. */
  owns(key: string): boolean {
    return this.#owned === undefined || this.#owned.has(key);
  }

  /**
   * The map for a newly owned partition's first batch (once), or undefined. The batch's fetch loop
   * waits meanwhile, so the group session is kept alive with `heartbeat` every `everyMs`. Undefined
   * at once when the member stops or a heartbeat fails (a rebalance): going without a map only
   * redoes settled messages, never skips one.
   */
  async take(key: string, heartbeat: () => Promise<void>, everyMs: number): Promise<OffsetSkipSet | undefined> {
    const load = this.#loads.get(key);
    if (load === undefined) return undefined;
    this.#loads.delete(key);
    // A failed heartbeat means the group is rebalancing (or dropped this member): this batch must
    // let kafkajs's fetch loop go at once so the member can rejoin in time, map or not.
    let rejoin: () => void = () => {};
    const rebalancing = new Promise<undefined>((resolve) => {
      rejoin = () => resolve(undefined);
    });
    const beat = setInterval(() => void heartbeat().catch(rejoin), everyMs);
    try {
      return (await Promise.race([load, this.#stopped, rebalancing]))?.get(key);
    } finally {
      clearInterval(beat);
    }
  }

  async #read(partitions: readonly TopicPartition[]): Promise<Map<string, OffsetSkipSet>> {
    const out = new Map<string, OffsetSkipSet>();
    let timer: NodeJS.Timeout | undefined;
    try {
      const fetch = this.#client.fetchCommitted?.(partitions) ?? Promise.resolve([]);
      const timeout = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), this.#timeoutMs);
        timer.unref();
      });
      const rows = await Promise.race([fetch, timeout]);
      if (rows === undefined) {
        // Late answers are dropped: the partition is being read already, without its map.
        fetch.catch(() => {});
        this.#logger.warn('reading the committed offset maps timed out; those partitions redo what they settled', {
          timeoutMs: this.#timeoutMs,
        });
        return out;
      }
      for (const row of rows) {
        if (row.offset === '-1' || row.offset === '') continue;
        const set = OffsetSkipSet.decode(row.metadata, BigInt(row.offset));
        if (set !== undefined) out.set(partitionKey(row.topic, row.partition), set);
      }
    } catch (error) {
      this.#logger.warn('reading the committed offset maps failed; those partitions redo what they settled', {
        error: error instanceof Error ? error.message : String(error),
      });
    } finally {
      clearTimeout(timer);
    }
    return out;
  }
}
