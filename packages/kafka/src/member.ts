import { type Outcome, type Producer, Queue, retryPolicy } from '@q/core';
import { settledWithin } from '@q/core/internal';
import type { FetchedBatch, FetchedRecord, GroupConsumerClient, TopicPartition } from './client.js';
import { CommittedMaps } from './committed-maps.js';
import { queueDeadLetter } from './dead-letter.js';
import { FetchBuffer } from './fetch-buffer.js';
import type { KafkaHandler, ResolvedKafkaQueueConfig } from './kafka-queue-config.js';
import type { TrackedMessage } from './offset-tracker.js';
import { OutboxReplayFilter, type ReplayCounter } from './outbox-replays.js';
import { PartitionCommits } from './partition-commits.js';
import { partitionKey } from './partition-key.js';
import { type ExpiredCounts, ReceiveExpiry } from './receive-expiry.js';
import { StopDeadline } from './stop-deadline.js';
import { trackBatch } from './track-batch.js';

/**
 * One group member: a client fetching batches into a {@link FetchBuffer}, a {@link Queue} running the
 * handler, and {@link PartitionCommits} committing only what is settled. This class is the group
 * membership: joining, rebalances, leaving.
 */
export class Member implements Producer<TrackedMessage> {
  /** The Queue running this member's messages. */
  readonly queue: Queue<TrackedMessage>;
  readonly #o: ResolvedKafkaQueueConfig;
  readonly #client: GroupConsumerClient;
  readonly #partitions: PartitionCommits;
  readonly #maps: CommittedMaps;
  readonly #buffer: FetchBuffer;
  /** Whether a message that failed for good may be committed past: kq's forceCommit, without a dead letter. */
  readonly #commitFailed: boolean;
  #stopping = false;
  /** What stop() returns: the stop under way. */
  #stopped: Promise<void> | undefined;
  /** The stop's deadline, which a later, shorter stop() moves earlier. */
  readonly #deadline = new StopDeadline();
  /** Whether the queue is draining inside stop(): a shorter deadline must reach its stop too. */
  #draining = false;
  #commitTimer: NodeJS.Timeout | undefined;
  #starting: Promise<void> | undefined;
  /** What start() returns: the join, or the stop that gave up on it. */
  #started: Promise<void> | undefined;
  /** Resolves {@link Member.start} when the stop deadline gave up on the join. */
  #joinGivenUp: (() => void) | undefined;
  /** Replays dropped by `dedupe`, over every partition this member owned. */
  readonly #replays: ReplayCounter = { dropped: 0 };
  /** Lazy expiry of what this member fetches (`q-expires-at`). */
  readonly #expiry: ReceiveExpiry;

  constructor(o: ResolvedKafkaQueueConfig, handler: KafkaHandler) {
    this.#o = o;
    this.#commitFailed = o.forceCommit && o.deadLetter === undefined;
    this.#client = o.client.groupConsumer(o.connection, {
      groupId: o.group,
      minBytes: o.minBytes,
      maxBytes: o.maxBytes,
      maxWaitMs: o.maxWaitMs,
      sessionTimeoutMs: o.sessionTimeoutMs,
      rebalanceTimeoutMs: o.rebalanceTimeoutMs,
      heartbeatIntervalMs: o.heartbeatIntervalMs,
    });
    this.#partitions = new PartitionCommits(this.#client, o.group, o.logger, o.offsetMap);
    this.#maps = new CommittedMaps(this.#client, o.logger, o.offsetMap, mapWaitMs(o));
    this.#buffer = new FetchBuffer(this.#client, o.highWaterMark, o.lowWaterMark);
    const consume = typeof handler === 'function' ? handler : handler.consume.bind(handler);
    const expiry = new ReceiveExpiry(
      o.deadLetter,
      retryPolicy(o.deadLetterBackoff, 'deadLetterBackoff', { minDelayMs: 100, maxDelayMs: 5000 }),
      o.logger,
    );
    this.#expiry = expiry;
    this.queue = new Queue<TrackedMessage>(
      () => this,
      // An expired message takes its turn (its key's order, the stop deadline, back-pressure) like
      // any other, but is dead-lettered instead of handled: settled only once that was confirmed.
      () => ({ consume: (m, context) => (m.expired ? expiry.deadLetter(m, context.signal) : consume(m, context)) }),
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
        deadLetterBackoff: o.deadLetterBackoff,
        deadLetter: queueDeadLetter<TrackedMessage>(o.deadLetter, () => expiry.counts.deadLettered++),
        logger: o.logger,
        statsIntervalMs: 0,
      },
    );
  }

  /**
   * Joins the group and starts fetching; resolves once the fetch loop runs, or once a stop gave up on
   * a join the broker did not answer (the destroyed client may take its own timeouts to let go).
   */
  start(): Promise<void> {
    this.#started ??= new Promise<void>((resolve, reject) => {
      this.#joinGivenUp = resolve;
      this.#join().then(resolve, reject);
    });
    return this.#started;
  }

  #join(): Promise<void> {
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

  /** Producer side of the Queue: hands over what the fetch loop delivered. */
  produce(signal: AbortSignal): Promise<TrackedMessage[] | undefined> {
    return this.#buffer.take(signal);
  }

  /**
   * Settlement from the Queue: what may be committed moves the partition's commit point. A message
   * that `failed` while there is a dead letter failed its dead-letter push too: whatever
   * `forceCommit` says, it is never committed past (it is read again after a restart or rebalance).
   */
  settle(m: TrackedMessage, outcome: Outcome): void {
    if (
      outcome.type === 'consumed' ||
      outcome.type === 'dead-lettered' ||
      (outcome.type === 'failed' && this.#commitFailed)
    ) {
      m.tracker.settle(m);
    }
    this.#buffer.settled();
  }

  /** Commits every partition whose commit point moved. Serialized; errors are retried next time. */
  commit(): Promise<void> {
    return this.#partitions.commit();
  }

  /** Messages fetched and not settled yet: what back-pressure bounds. */
  get unsettled(): number {
    return this.#buffer.unsettled;
  }

  /** Replays `dedupe` dropped so far (settled without the handler). */
  get duplicatesDropped(): number {
    return this.#replays.dropped;
  }

  /** Expired records dead-lettered or skipped so far (never handed to the handler). */
  get expired(): Readonly<ExpiredCounts> {
    return this.#expiry.counts;
  }

  /** What was committed, per partition (for tests and monitoring). */
  committed(): (TopicPartition & { offset: bigint | undefined })[] {
    return this.#partitions.committed();
  }

  /**
   * Stops fetching, drains, commits, leaves the group, all by `deadline` (a `Date.now()` time); the
   * final commit and leave get at least {@link FINAL_MS} even when draining used the deadline up.
   * Past that, the client is destroyed: what was settled and not committed is redone by the next
   * owner (duplicates, never loss), and no socket or timer of this member is left behind. Called
   * again, it returns the same promise, and an earlier `deadline` applies to the stop under way.
   */
  stop(deadline: number): Promise<void> {
    // The Queue takes the shorter of repeated stops itself; one already past its drain ignores it.
    if (this.#deadline.lower(deadline) && this.#draining)
      void this.queue.stop({ timeoutMs: this.#deadline.remainingMs() });
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    this.#stopping = true;
    this.#maps.stop();
    // A member still joining must finish joining before it can leave: a client disconnected in the
    // middle of run() keeps rejoining the group as a zombie. A broker not answering is given up on.
    if (!(await this.#deadline.within(this.#starting))) {
      // Nothing was fetched before the join: the queue has nothing to drain, but it must end.
      await this.queue.stop({ timeoutMs: 0 });
      this.#joinGivenUp?.();
      return this.#giveUp('joining');
    }
    // Stop fetching first: what is already fetched drains, nothing new comes in.
    const owned = this.#partitions.owned();
    if (owned.length > 0) this.#client.pause(owned);
    this.#buffer.wake();
    this.#draining = true;
    try {
      await this.queue.stop({ timeoutMs: this.#deadline.remainingMs() });
    } finally {
      this.#draining = false;
    }
    clearInterval(this.#commitTimer);
    const leave = (async () => {
      await this.commit();
      await this.#client.disconnect();
    })();
    // A leave that failed is given up on like one that did not answer: the client is destroyed.
    const left = leave.then(
      () => true,
      () => false,
    );
    if (!(await this.#deadline.within(left, Date.now() + FINAL_MS)) || !(await left))
      return this.#giveUp('committing and leaving', leave);
  }

  /** The stop deadline passed: destroys the client, and lets what was under way fail quietly. */
  async #giveUp(doing: string, work?: Promise<void>): Promise<void> {
    clearInterval(this.#commitTimer);
    this.#o.logger.warn(
      { group: this.#o.group },
      `stop deadline passed while ${doing}: closing the connections; what was not committed is redone`,
    );
    this.#client.destroy?.();
    // Destroyed sockets fail their requests at once, so this is short; it is bounded all the same.
    await settledWithin(work, FINAL_MS);
  }

  async #onBatch(batch: FetchedBatch): Promise<void> {
    // While stopping, fetched batches are not taken (nor resolved): they stay for the next owner.
    if (this.#stopping || batch.messages.length === 0) return;
    const key = partitionKey(batch.topic, batch.partition);
    if (!this.#partitions.tracking(key)) {
      // A partition new here: its last commit's offset map says what not to hand out again. Left
      // (stopping, a rebalance, or revoked meanwhile), the batch is neither taken nor resolved.
      const map = await this.#maps.take(key, () => batch.heartbeat(), this.#o.heartbeatIntervalMs);
      if (map === undefined || this.#stopping || !this.#maps.owns(key)) return;
      if (map.skip !== undefined) this.#partitions.trackerFor(key, batch.topic, batch.partition).skipSettled(map.skip);
    }
    const tracker = this.#partitions.trackerFor(key, batch.topic, batch.partition);
    if (this.#o.dedupe !== undefined) tracker.replays ??= new OutboxReplayFilter(this.#replays);
    this.#expiry.begin();
    const entries = trackBatch(tracker, batch.messages, this.#o.ordering, this.#expiry);
    this.#expiry.end(batch.topic, batch.partition);
    batch.resolveOffset((batch.messages[batch.messages.length - 1] as FetchedRecord).offset);
    // A batch the offset map skipped or dedupe dropped whole settled at once: nothing to hand over.
    if (entries.length > 0) this.#buffer.add(key, batch.topic, batch.partition, entries);
    await batch.heartbeat();
  }

  #assigned(partitions: readonly TopicPartition[]): void {
    this.#maps.assigned(partitions);
    this.#buffer.assigned(partitions, this.#partitions.assigned(partitions));
  }
}

/**
 * The least time a stop gives the final commit and the LeaveGroup, even when draining used the whole
 * deadline: a healthy broker answers both in milliseconds, and without them the next owner redoes
 * everything settled since the last commit.
 */
export const FINAL_MS = 1000;

/**
 * How long a new partition's first batch waits for its offset map, from when it starts waiting: half
 * the rebalance timeout. The batch holds kafkajs's fetch loop, and a rebalance waits for that loop to
 * finish before the member can rejoin, so the wait must end well within `rebalanceTimeoutMs` (it also
 * ends at once when a heartbeat fails, the sign of a rebalance). The session is not the limit: the
 * wait heartbeats. Half the shorter of the two timeouts (750 ms with the crash test's 1.5 s session)
 * timed reads out on a loaded machine, and so did 1.5 s counted from the assignment: the first fetch
 * alone took 3 s there.
 */
function mapWaitMs(o: ResolvedKafkaQueueConfig): number {
  return Math.max(1, Math.floor(o.rebalanceTimeoutMs / 2));
}
