import type { Logger } from '@q/core';
import type { GroupConsumerClient, TopicPartition } from './client.js';
import { OffsetSkipSet } from './offset-map.js';
import { partitionKey } from './partition-key.js';

/**
 * The offset maps of the partitions a member was just given, read from their last commits: which
 * offsets above each commit point were settled already, so the new reader does not hand them out
 * again. Read once per assignment, per newly owned partition; a partition's first fetched batch
 * waits for it (bounded from when the batch starts waiting), and without it (error, timeout, a
 * client that cannot read metadata) the partition is simply read as before, everything above the
 * commit point redone.
 */
export class CommittedMaps {
  readonly #client: GroupConsumerClient;
  readonly #logger: Logger;
  readonly #enabled: boolean;
  readonly #timeoutMs: number;
  /** Keys of the partitions owned now; undefined until the first assignment is known. */
  #owned: Set<string> | undefined;
  /**
   * Maps being read (or read) for newly owned partitions, until their first batch takes them. A read
   * never fails: errors give an empty map.
   */
  readonly #loads = new Map<string, Promise<Map<string, OffsetSkipSet>>>();
  /**
   * When each partition's first batch started waiting: the wait is bounded in total, over every
   * re-fetch of that batch after a failed heartbeat, not per try.
   */
  readonly #waitingSince = new Map<string, number>();
  /** Resolves when the member stops: a batch waiting for its map stops waiting. */
  readonly #stopped: Promise<undefined>;
  #stop: () => void = () => {};

  /**
   * @param enabled The `offsetMap` option: when false nothing is read.
   * @param timeoutMs How long a partition's first batch waits for its map before going without,
   * counted from when it starts waiting.
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
      // A map read for an earlier generation that no batch took yet (the batch was left when the
      // member was dropped) is read again: the commit in force may have changed while the group
      // rebalanced (another owner's commit, an offset reset), and only its own map may be used.
      if (this.#owned?.has(key) !== true || this.#loads.has(key)) fresh.push(p);
    }
    for (const key of this.#loads.keys()) if (!owned.has(key)) this.#loads.delete(key);
    for (const key of this.#waitingSince.keys()) if (!owned.has(key)) this.#waitingSince.delete(key);
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
   * What a newly owned partition's first batch does about its map: take the batch, with the map if
   * there is one (`skip`), or leave it (undefined). The batch's fetch loop waits meanwhile, so the
   * group session is kept alive with `heartbeat` every `everyMs`.
   *
   * - The map (or its absence) read: the batch is taken with it.
   * - No map after `timeoutMs` of waiting: the batch is taken without one. The wait starts here, not
   *   at the assignment: a first fetch that took longer than the whole wait (a 10 MB response
   *   decoded on a loaded machine took 3 s) has not waited at all, and timing the read from the
   *   assignment gave up on maps that came back 1 s after the batch.
   * - The member stops, or a heartbeat fails (a rebalance, or the member was dropped from the group):
   *   the batch is left, neither taken nor resolved, so the client fetches it again once it has
   *   rejoined, and the map stays here for that batch. Taking it without the map would redo all the
   *   map lists, and the next commit would carry a map without them.
   */
  async take(
    key: string,
    heartbeat: () => Promise<void>,
    everyMs: number,
  ): Promise<{ readonly skip: OffsetSkipSet | undefined } | undefined> {
    const load = this.#loads.get(key);
    if (load === undefined) return NO_MAP;
    const since = this.#waitingSince.get(key) ?? performance.now();
    this.#waitingSince.set(key, since);
    const remainingMs = this.#timeoutMs - (performance.now() - since);
    if (remainingMs <= 0) return this.#giveUp(key);
    let rejoin: () => void = () => {};
    const rebalancing = new Promise<typeof LEAVE>((resolve) => {
      rejoin = () => resolve(LEAVE);
    });
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<typeof EXPIRED>((resolve) => {
      // A timer due during a stall of this process runs before the I/O that arrived meanwhile: one
      // turn of the loop lets an answer already received come first.
      timer = setTimeout(() => setImmediate(() => resolve(EXPIRED)), remainingMs);
    });
    const beat = setInterval(() => void heartbeat().catch(rejoin), everyMs);
    try {
      const got = await Promise.race([load, this.#stopped, rebalancing, expired]);
      if (got === undefined || got === LEAVE) return undefined;
      // A new assignment came while this batch waited and started a new read: this batch belongs to
      // the old generation; it is left, and the re-fetch waits for the read of the commit in force.
      if (this.#loads.get(key) !== load) return undefined;
      if (got === EXPIRED) return this.#giveUp(key);
      this.#loads.delete(key);
      this.#waitingSince.delete(key);
      return { skip: got.get(key) };
    } finally {
      clearInterval(beat);
      clearTimeout(timer);
    }
  }

  /** The wait for `key`'s map is over: its batch goes without one. */
  #giveUp(key: string): typeof NO_MAP {
    this.#loads.delete(key);
    this.#waitingSince.delete(key);
    this.#logger.warn(
      { partition: key, timeoutMs: this.#timeoutMs },
      'waiting for the committed offset map timed out; the partition redoes what it settled',
    );
    return NO_MAP;
  }

  /** Reads the maps of `partitions`; an error gives an empty map (the wait is bounded in {@link take}). */
  async #read(partitions: readonly TopicPartition[]): Promise<Map<string, OffsetSkipSet>> {
    const out = new Map<string, OffsetSkipSet>();
    try {
      const rows = (await this.#client.fetchCommitted?.(partitions)) ?? [];
      for (const row of rows) {
        if (row.offset === '-1' || row.offset === '') continue;
        const set = OffsetSkipSet.decode(row.metadata, BigInt(row.offset));
        if (set !== undefined) out.set(partitionKey(row.topic, row.partition), set);
      }
    } catch (error) {
      this.#logger.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'reading the committed offset maps failed; those partitions redo what they settled',
      );
    }
    return out;
  }
}

const NO_MAP = Object.freeze({ skip: undefined });
const LEAVE = Symbol('leave');
const EXPIRED = Symbol('expired');
