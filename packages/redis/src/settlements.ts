import { BulkExecutor, type Outcome } from '@q/core';
import type { Cluster, Redis } from 'ioredis';
import type { ScriptedRedis } from './scripts.js';
import type { SourceHealth } from './source-health.js';

/** A settle is one number, `id * 4 + kind`, so batching it allocates nothing per message. */
const ACK = 0;
const REQUEUE = 1;
const UNDO = 2;

/** Where {@link Settlements} sends its batches. */
export interface SettlementTarget {
  readonly redis: (Redis | Cluster) & ScriptedRedis;
  /** The consumer's in-flight hash. */
  readonly inflight: string;
  /** The queue's retry list. */
  readonly retry: string;
  /** Most settles per batch. */
  readonly settleBatch: number;
  /** Longest wait of a settle for its batch, in milliseconds. */
  readonly settleIntervalMs: number;
}

/**
 * The settles of one at-least-once consumer, sent in batches through a `BulkExecutor`: one pipeline
 * per batch with one `HDEL` for every ack and one hand-back script call per kind (counted for a
 * failure, uncounted for a message handed back unprocessed at stop). A batch that fails (Redis down)
 * is kept and sent again before the next claim; every settle is idempotent (an id no longer in
 * flight is skipped), so sending one twice is harmless, and delivery ids never repeat, so a settle
 * can only ever touch the delivery it names.
 */
export class Settlements {
  readonly #target: SettlementTarget;
  readonly #health: SourceHealth;
  readonly #batches: BulkExecutor<number>;
  /** Settles of batches that failed, to send again. */
  #unsent: number[] = [];

  constructor(target: SettlementTarget, health: SourceHealth) {
    this.#target = target;
    this.#health = health;
    this.#batches = new BulkExecutor<number>((tasks) => this.#send(tasks), {
      bulkTasks: target.settleBatch,
      flushIntervalMs: target.settleIntervalMs,
      onError: (error, tasks) => {
        this.#health.failed(error);
        this.#unsent.push(...tasks);
      },
    });
  }

  /**
   * Settles the delivery `id`: consumed and dead-lettered remove it; failed hands it back for
   * another delivery (counted, so `maxDeliveries` ends it); nacked hands it back uncounted.
   * Returns the executor's back-pressure promise when the batch is full.
   */
  add(id: number, outcome: Outcome): Promise<void> | undefined {
    const kind =
      outcome.type === 'consumed' || outcome.type === 'dead-lettered'
        ? ACK
        : outcome.type === 'failed'
          ? REQUEUE
          : UNDO;
    return this.#batches.add(id * 4 + kind);
  }

  /** Sends again what failed before; throws (keeping them) if it fails again. */
  async sendUnsent(): Promise<void> {
    if (this.#unsent.length === 0) return;
    const unsent = this.#unsent;
    this.#unsent = [];
    try {
      await this.#send(unsent);
    } catch (error) {
      this.#unsent.push(...unsent);
      throw error;
    }
  }

  /** Sends everything buffered and everything that failed before; no settle is accepted after. */
  async close(): Promise<void> {
    await this.#batches.close();
    await this.sendUnsent();
  }

  async #send(tasks: number[]): Promise<void> {
    const acks: string[] = [];
    const requeues: number[] = [];
    const undos: number[] = [];
    for (const t of tasks) {
      const id = Math.floor(t / 4);
      const kind = t % 4;
      if (kind === ACK) acks.push(String(id));
      else (kind === REQUEUE ? requeues : undos).push(id);
    }
    const { redis, inflight, retry } = this.#target;
    const pipeline = redis.pipeline();
    if (acks.length > 0) pipeline.hdel(inflight, ...acks);
    const scripted = pipeline as unknown as ScriptedRedis;
    if (requeues.length > 0) void scripted.qRequeue(inflight, retry, 'count', ...requeues);
    if (undos.length > 0) void scripted.qRequeue(inflight, retry, 'undo', ...undos);
    const results = await pipeline.exec();
    for (const [error] of results ?? []) if (error) throw error;
  }
}
