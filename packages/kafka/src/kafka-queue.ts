import {
  type ConsumeContext,
  consoleLogger,
  InvalidOptionError,
  integerAtLeast,
  type Logger,
  nonEmptyString,
  type Outcome,
  type Producer,
  type Pusher,
  Queue,
  type QueueStats,
  type RetryOptions,
} from '@q/core';
import type {
  FetchedRecord,
  GroupConsumerClient,
  KafkaClientFactory,
  KafkaConnection,
  KafkaMessage,
  TopicPartition,
} from './client.js';
import { KafkaPusher } from './kafka-pusher.js';
import { kafkajsClient } from './kafkajs-client.js';
import { PartitionTracker, type TrackedMessage } from './offset-tracker.js';
import { keyOrderKey, partitionOrderKey } from './order-key.js';

/** How messages of one partition may run at once. */
export type Ordering = 'partition' | 'key' | 'unordered';

/** The handler: a function, or an object with `consume` (kq's `ConsumeHandler`). */
export type KafkaHandler =
  | ((message: KafkaMessage, context: ConsumeContext) => void | Promise<void>)
  | { consume(message: KafkaMessage, context: ConsumeContext): void | Promise<void> };

/** kq's `KqConf` and options, with the same names and defaults where they exist. */
export interface KafkaQueueConfig extends KafkaConnection {
  /** The consumer group. */
  group: string;
  /** One topic (kq), or use `topics`. */
  topic?: string;
  topics?: string[];
  /**
   * Where a partition without a committed offset starts.
   * @default "last"
   */
  offset?: 'first' | 'last';
  /**
   * Independent group members (each a client and a pipeline) in this process.
   * @default 1
   */
  conns?: number;
  /**
   * Partitions fetched and handed over concurrently per member (kq's fetch goroutines).
   * @default 8
   */
  consumers?: number;
  /**
   * Handler calls running at once per member (kq's processors).
   * @default 8
   */
  processors?: number;
  /** @default 10240 */
  minBytes?: number;
  /** @default 10485760 */
  maxBytes?: number;
  /** @default 1000 */
  maxWaitMs?: number;
  /**
   * Commits are sent at most this often (and at stop and before a rebalance).
   * @default 1000
   */
  commitIntervalMs?: number;
  /**
   * kq's meaning: commit a message whose handler failed for good (after retries and dead letter).
   * With false, its partition's commit point stops there, so it is read again after a restart.
   * @default true
   */
  forceCommit?: boolean;
  /**
   * `partition`: one message at a time per partition, in order (kq with one processor, but
   * partitions in parallel). `key`: one at a time per key, keys of a partition in parallel
   * (Confluent Parallel Consumer's KEY mode). `unordered`: everything in parallel.
   * @default "partition"
   */
  ordering?: Ordering;
  /**
   * Back-pressure: above this many messages fetched and not settled, the partitions delivering more
   * are paused; they resume below `lowWaterMark`. The default holds about two fetch responses of
   * small messages at the default `maxBytes`, so the next fetch runs while the last one is handled;
   * much lower values pause after every fetch and leave the handlers idle while the next one comes.
   * @default 100000
   */
  highWaterMark?: number;
  /** @default half of highWaterMark */
  lowWaterMark?: number;
  /** Per-attempt handler timeout in milliseconds (0: none). @default 0 */
  timeoutMs?: number;
  /** Retries of failed handler calls. By default none (kq). */
  retry?: RetryOptions;
  /** Dead-letter target for messages that failed every attempt: a topic, or any Pusher. */
  deadLetter?: string | Pusher<KafkaMessage>;
  /** @default 10000 */
  sessionTimeoutMs?: number;
  /** How long a rebalance waits for members to rejoin. @default 30000 */
  rebalanceTimeoutMs?: number;
  /** @default 1000 */
  heartbeatIntervalMs?: number;
  /** @default kafkajs */
  client?: KafkaClientFactory;
  /** @default consoleLogger */
  logger?: Logger;
}

interface Resolved {
  connection: KafkaConnection;
  group: string;
  topics: string[];
  fromBeginning: boolean;
  conns: number;
  consumers: number;
  processors: number;
  minBytes: number;
  maxBytes: number;
  maxWaitMs: number;
  commitIntervalMs: number;
  forceCommit: boolean;
  ordering: Ordering;
  highWaterMark: number;
  lowWaterMark: number;
  timeoutMs: number;
  retry: RetryOptions | undefined;
  deadLetter: Pusher<KafkaMessage> | undefined;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  heartbeatIntervalMs: number;
  client: KafkaClientFactory;
  logger: Logger;
}

const ORDERINGS: readonly Ordering[] = ['partition', 'key', 'unordered'];

function resolve(config: KafkaQueueConfig): Resolved {
  if (config === null || typeof config !== 'object') throw new InvalidOptionError('config', config, 'an object');
  if (!Array.isArray(config.brokers) || config.brokers.length === 0) {
    throw new InvalidOptionError('brokers', config.brokers, 'a non-empty array of "host:port"');
  }
  nonEmptyString('group', config.group);
  const topics = config.topics ?? (config.topic === undefined ? [] : [config.topic]);
  if (topics.length === 0 || topics.some((t) => typeof t !== 'string' || t === '')) {
    throw new InvalidOptionError(
      'topic',
      config.topic ?? config.topics,
      'a topic name (topic) or a non-empty list (topics)',
    );
  }
  const ordering = config.ordering ?? 'partition';
  if (!ORDERINGS.includes(ordering))
    throw new InvalidOptionError('ordering', ordering, '"partition", "key" or "unordered"');
  const offset = config.offset ?? 'last';
  if (offset !== 'first' && offset !== 'last') throw new InvalidOptionError('offset', offset, '"first" or "last"');
  const highWaterMark = integerAtLeast('highWaterMark', config.highWaterMark ?? 100_000, 1);
  const deadLetter =
    typeof config.deadLetter === 'string'
      ? (new KafkaPusher({
          ...config,
          topic: config.deadLetter,
          acks: -1,
          // A message counts as dead-lettered (and its offset may be committed) only once the broker
          // has it: otherwise a crash between the two would lose it.
          syncPush: true,
          // ...and without waiting for the default 100 ms flush: dead-lettering runs one message at a
          // time while its key (its partition, by default) waits.
          flushIntervalMs: 1,
          client: config.client,
        }) as unknown as Pusher<KafkaMessage>)
      : config.deadLetter;
  return {
    connection: {
      brokers: config.brokers,
      clientId: config.clientId,
      ssl: config.ssl,
      sasl: config.sasl,
      requestTimeoutMs: config.requestTimeoutMs,
    },
    group: config.group,
    topics,
    fromBeginning: offset === 'first',
    conns: Math.max(1, integerAtLeast('conns', config.conns ?? 1, Number.MIN_SAFE_INTEGER)),
    consumers: integerAtLeast('consumers', config.consumers ?? 8, 1),
    processors: integerAtLeast('processors', config.processors ?? 8, 1),
    minBytes: integerAtLeast('minBytes', config.minBytes ?? 10_240, 1),
    maxBytes: integerAtLeast('maxBytes', config.maxBytes ?? 10_485_760, 1),
    maxWaitMs: integerAtLeast('maxWaitMs', config.maxWaitMs ?? 1000, 0),
    commitIntervalMs: integerAtLeast('commitIntervalMs', config.commitIntervalMs ?? 1000, 1),
    forceCommit: config.forceCommit ?? true,
    ordering,
    highWaterMark,
    lowWaterMark: integerAtLeast('lowWaterMark', config.lowWaterMark ?? Math.floor(highWaterMark / 2), 0),
    timeoutMs: config.timeoutMs ?? 0,
    retry: config.retry,
    deadLetter,
    sessionTimeoutMs: integerAtLeast('sessionTimeoutMs', config.sessionTimeoutMs ?? 10_000, 1),
    rebalanceTimeoutMs: integerAtLeast('rebalanceTimeoutMs', config.rebalanceTimeoutMs ?? 30_000, 1),
    heartbeatIntervalMs: integerAtLeast('heartbeatIntervalMs', config.heartbeatIntervalMs ?? 1000, 1),
    client: config.client ?? kafkajsClient,
    logger: config.logger ?? consoleLogger,
  };
}

/**
 * One group member: a client fetching batches, a buffer, a {@link Queue} running the handler, and
 * per-partition offset trackers that commit only what is settled.
 */
class Member implements Producer<TrackedMessage> {
  readonly queue: Queue<TrackedMessage>;
  readonly #o: Resolved;
  readonly #client: GroupConsumerClient;
  readonly #trackers = new Map<string, PartitionTracker>();
  /**
   * One id per topic-partition for the member's life, not per tracker: when a partition comes back
   * after a rebalance, its new messages must still queue behind the old owner's messages running.
   */
  readonly #partitionIds = new Map<string, number>();
  readonly #buffer: TrackedMessage[][] = [];
  #buffered = 0;
  #inFlight = 0;
  readonly #paused = new Map<string, TopicPartition>();
  #wake: (() => void) | undefined;
  #stopping = false;
  #commitTimer: NodeJS.Timeout | undefined;
  #committing: Promise<void> = Promise.resolve();
  #starting: Promise<void> | undefined;

  constructor(o: Resolved, handler: KafkaHandler) {
    this.#o = o;
    this.#client = o.client.groupConsumer(o.connection, {
      groupId: o.group,
      minBytes: o.minBytes,
      maxBytes: o.maxBytes,
      maxWaitMs: o.maxWaitMs,
      sessionTimeoutMs: o.sessionTimeoutMs,
      rebalanceTimeoutMs: o.rebalanceTimeoutMs,
      heartbeatIntervalMs: o.heartbeatIntervalMs,
    });
    const consume = typeof handler === 'function' ? handler : handler.consume.bind(handler);
    this.queue = new Queue<TrackedMessage>(
      () => this,
      () => ({ consume: (m, context) => consume(m, context) }),
      {
        name: `kafka:${o.group}`,
        producers: 1,
        consumers: o.processors,
        capacity: Math.max(1, Math.min(o.highWaterMark, 4096)),
        keyOf: o.ordering === 'unordered' ? undefined : (m) => m.orderKey,
        // A consumer loop takes all it can of one key at once (a fetched batch in partition mode):
        // shorter runs would only park behind the loop holding the key, and cost a hand-over each.
        batchSize: o.highWaterMark,
        timeoutMs: o.timeoutMs,
        retry: o.retry,
        deadLetter: o.deadLetter
          ? { name: () => o.deadLetter?.name() ?? '', push: (m, info) => o.deadLetter?.push(m, info) }
          : undefined,
        logger: o.logger,
        statsIntervalMs: 0,
      },
    );
  }

  start(): Promise<void> {
    this.#starting ??= (async () => {
      this.#client.onGroupChange({
        rebalancing: () => this.commit(),
        assigned: (partitions) => this.#assigned(partitions),
      });
      this.#commitTimer = setInterval(() => void this.commit(), this.#o.commitIntervalMs);
      this.#commitTimer.unref();
      await this.#client.connect();
      await this.#client.subscribe(this.#o.topics, this.#o.fromBeginning);
      await this.#client.run((batch) => this.#onBatch(batch), this.#o.consumers);
    })();
    return this.#starting;
  }

  // Producer side of the Queue: hands over what the fetch loop delivered.
  async produce(signal: AbortSignal): Promise<TrackedMessage[] | undefined> {
    for (;;) {
      const batch = this.#buffer.shift();
      if (batch !== undefined) {
        this.#buffered -= batch.length;
        this.#maybeResume();
        // A fetched batch is one partition's: if that partition was taken away meanwhile, all of it
        // stays for the new owner.
        if ((batch[0] as TrackedMessage).tracker.revoked) continue;
        this.#inFlight += batch.length;
        return batch;
      }
      if (signal.aborted) return undefined;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          signal.removeEventListener('abort', done);
          this.#wake = undefined;
          resolve();
        };
        this.#wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  settle(m: TrackedMessage, outcome: Outcome): void {
    this.#inFlight--;
    if (
      outcome.type === 'consumed' ||
      outcome.type === 'dead-lettered' ||
      (outcome.type === 'failed' && this.#o.forceCommit)
    ) {
      m.tracker.settle(m);
    }
    this.#maybeResume();
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
        this.#o.logger.warn('offset commit failed; retrying at the next interval', {
          group: this.#o.group,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    });
    return this.#committing;
  }

  /** Messages fetched and not settled yet: what back-pressure bounds. */
  get unsettled(): number {
    return this.#buffered + this.#inFlight;
  }

  /** What was committed, per partition (for tests and monitoring). */
  committed(): (TopicPartition & { offset: bigint | undefined })[] {
    return [...this.#trackers.values()].map((t) => ({ topic: t.topic, partition: t.partition, offset: t.committed }));
  }

  async stop(timeoutMs?: number): Promise<void> {
    this.#stopping = true;
    // A member still joining must finish joining before it can leave: a client disconnected in the
    // middle of run() keeps rejoining the group as a zombie.
    await this.#starting?.catch(() => {});
    // Stop fetching first: what is already fetched drains, nothing new comes in.
    const owned = [...this.#trackers.values()].map((t) => ({ topic: t.topic, partition: t.partition }));
    if (owned.length > 0) this.#client.pause(owned);
    this.#wake?.();
    await this.queue.stop(timeoutMs === undefined ? {} : { timeoutMs });
    clearInterval(this.#commitTimer);
    await this.commit();
    await this.#client.disconnect();
  }

  async #onBatch(batch: {
    topic: string;
    partition: number;
    messages: readonly FetchedRecord[];
    resolveOffset(offset: string): void;
    heartbeat(): Promise<void>;
  }): Promise<void> {
    // While stopping, fetched batches are not taken (nor resolved): they stay for the next owner.
    if (this.#stopping || batch.messages.length === 0) return;
    const key = `${batch.topic}\u0000${batch.partition}`;
    let tracker = this.#trackers.get(key);
    if (tracker === undefined || tracker.revoked) {
      let id = this.#partitionIds.get(key);
      if (id === undefined) {
        id = this.#partitionIds.size;
        this.#partitionIds.set(key, id);
      }
      tracker = new PartitionTracker(batch.topic, batch.partition, id);
      this.#trackers.set(key, tracker);
    }
    const entries = this.#track(tracker, batch.messages);
    batch.resolveOffset((batch.messages[batch.messages.length - 1] as FetchedRecord).offset);
    this.#buffer.push(entries);
    this.#buffered += entries.length;
    this.#wake?.();
    if (this.#buffered + this.#inFlight >= this.#o.highWaterMark && !this.#paused.has(key)) {
      const tp = { topic: batch.topic, partition: batch.partition };
      this.#paused.set(key, tp);
      this.#client.pause([tp]);
    }
    await batch.heartbeat();
  }

  /**
   * Wraps fetched records for the queue. In key mode the batch is regrouped by key (stable within a
   * key): consecutive messages of a key then reach one consumer loop as one run, while the tracker
   * still commits in offset order.
   */
  #track(tracker: PartitionTracker, records: readonly FetchedRecord[]): TrackedMessage[] {
    const ordering = this.#o.ordering;
    if (ordering === 'partition') {
      const orderKey = partitionOrderKey(tracker.id);
      return records.map((r) => tracker.add(r, orderKey));
    }
    if (ordering === 'unordered') return records.map((r) => tracker.add(r));
    const byKey = new Map<number, TrackedMessage[]>();
    const unkeyed: TrackedMessage[] = [];
    for (const r of records) {
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

  #maybeResume(): void {
    if (this.#paused.size === 0 || this.#buffered + this.#inFlight > this.#o.lowWaterMark) return;
    const partitions = [...this.#paused.values()];
    this.#paused.clear();
    this.#client.resume(partitions);
  }

  #assigned(partitions: readonly TopicPartition[]): void {
    const owned = new Set(partitions.map((p) => `${p.topic}\u0000${p.partition}`));
    for (const [key, t] of this.#trackers) {
      if (owned.has(key)) continue;
      // Revoked: its settlements no longer commit (the new owner resumes from the last commit).
      t.revoked = true;
      this.#trackers.delete(key);
      this.#paused.delete(key);
    }
  }
}

/**
 * go-queue's kq, done right: a consumer group whose messages run through a {@link Queue} (retries,
 * dead letter, timeouts, ordering by partition or key) and whose commits never pass a message that is
 * not settled.
 *
 * ```ts
 * const queue = new KafkaQueue({ brokers, group: 'billing', topic: 'orders', ordering: 'key' }, async (m) => bill(m));
 * const done = queue.start();
 * // ...
 * await queue.stop();
 * ```
 */
export class KafkaQueue {
  readonly #o: Resolved;
  readonly #members: Member[] = [];
  #started: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  /** @throws {InvalidOptionError} for missing brokers, group or topic, or bad numbers or modes. */
  constructor(config: KafkaQueueConfig, handler: KafkaHandler) {
    this.#o = resolve(config);
    if (typeof handler !== 'function' && (handler === null || typeof handler?.consume !== 'function')) {
      throw new InvalidOptionError('handler', handler, 'a function or an object with consume()');
    }
    for (let i = 0; i < this.#o.conns; i++) this.#members.push(new Member(this.#o, handler));
  }

  /** Joins the group and runs until `stop()`; resolves when everything has drained and committed. */
  start(): Promise<void> {
    this.#started ??= (async () => {
      const running = this.#members.map((m) => m.queue.start());
      await Promise.all(this.#members.map((m) => m.start()));
      await Promise.all(running);
    })();
    return this.#started;
  }

  /** Stops fetching, drains and commits what was settled, leaves the group. A second call is harmless. */
  stop(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#stopping ??= (async () => {
      await Promise.all(this.#members.map((m) => m.stop(options.timeoutMs)));
      const dlq = this.#o.deadLetter as { close?: () => Promise<void> } | undefined;
      await dlq?.close?.();
    })();
    return this.#stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /** The queues' stats, one per member. */
  stats(): QueueStats[] {
    return this.#members.map((m) => m.queue.stats());
  }

  /**
   * Messages fetched and not settled yet, over all members: kept near `highWaterMark` at most by
   * pausing fetches (plus what fetches already under way deliver).
   */
  unsettled(): number {
    let n = 0;
    for (const m of this.#members) n += m.unsettled;
    return n;
  }

  /** Committed offsets per partition, per member. */
  committed(): (TopicPartition & { offset: bigint | undefined })[] {
    return this.#members.flatMap((m) => m.committed());
  }

  /** The Queue of each member, for events (`error`, `dead-letter`, `stats`, ...). */
  get queues(): Queue<TrackedMessage>[] {
    return this.#members.map((m) => m.queue);
  }
}
