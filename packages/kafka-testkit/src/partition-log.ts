import type { BatchInfo } from './record-batch.js';
import { withBaseOffset } from './record-batch.js';

interface StoredBatch {
  readonly baseOffset: bigint;
  readonly lastOffset: bigint;
  readonly maxTimestamp: bigint;
  readonly bytes: Buffer;
}

interface ProducerState {
  epoch: number;
  lastSequence: number;
  /** Recent batches by first sequence, so a retried batch gets its original offset back. */
  readonly recent: { sequence: number; count: number; baseOffset: bigint }[];
}

/** The result of an append: the batch's base offset, or the error code Kafka would return. */
export type AppendResult = { baseOffset: bigint } | { error: 'out-of-order' | 'invalid-epoch' };

/**
 * One partition's log: stored batches (bytes as produced, base offset rewritten), the log end
 * offset, idempotent producer state, and the fetchers waiting for data.
 */
export class PartitionLog {
  readonly #batches: StoredBatch[] = [];
  #end = 0n;
  readonly #producers = new Map<bigint, ProducerState>();
  #waiters = new Set<() => void>();

  /** The next offset to be written (= the high watermark: writes are immediately committed). */
  get endOffset(): bigint {
    return this.#end;
  }

  /** The first offset still in the log: always 0, nothing is ever deleted. */
  get startOffset(): bigint {
    return 0n;
  }

  /** Appends a validated batch, applying the idempotent producer's sequence rules. */
  append(batch: BatchInfo): AppendResult {
    if (batch.producerId >= 0n) {
      const state = this.#producers.get(batch.producerId);
      if (state !== undefined) {
        if (batch.producerEpoch < state.epoch) return { error: 'invalid-epoch' };
        if (batch.producerEpoch === state.epoch) {
          const duplicate = state.recent.find((r) => r.sequence === batch.baseSequence && r.count === batch.count);
          if (duplicate !== undefined) return { baseOffset: duplicate.baseOffset };
          if (batch.baseSequence !== state.lastSequence + 1) return { error: 'out-of-order' };
        } else if (batch.baseSequence !== 0) return { error: 'out-of-order' };
      } else if (batch.baseSequence !== 0) {
        return { error: 'out-of-order' };
      }
    }
    const baseOffset = this.#end;
    const lastOffset = baseOffset + BigInt(batch.lastOffsetDelta);
    this.#batches.push({
      baseOffset,
      lastOffset,
      maxTimestamp: batch.maxTimestamp,
      bytes: withBaseOffset(batch.bytes, baseOffset),
    });
    this.#end = lastOffset + 1n;
    if (batch.producerId >= 0n) {
      let state = this.#producers.get(batch.producerId);
      if (state === undefined || state.epoch !== batch.producerEpoch) {
        state = { epoch: batch.producerEpoch, lastSequence: -1, recent: [] };
        this.#producers.set(batch.producerId, state);
      }
      state.lastSequence = batch.baseSequence + batch.count - 1;
      state.recent.push({ sequence: batch.baseSequence, count: batch.count, baseOffset });
      if (state.recent.length > 5) state.recent.shift();
    }
    const waiters = this.#waiters;
    this.#waiters = new Set();
    for (const wake of waiters) wake();
    return { baseOffset };
  }

  /**
   * Whole batches from the one holding `offset`, up to `maxBytes` (at least one batch, as Kafka does
   * so a large batch can always be read).
   */
  read(offset: bigint, maxBytes: number): Buffer[] {
    let lo = 0;
    let hi = this.#batches.length - 1;
    let first = this.#batches.length;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((this.#batches[mid] as StoredBatch).lastOffset >= offset) {
        first = mid;
        hi = mid - 1;
      } else lo = mid + 1;
    }
    const out: Buffer[] = [];
    let bytes = 0;
    for (let i = first; i < this.#batches.length; i++) {
      const b = this.#batches[i] as StoredBatch;
      if (out.length > 0 && bytes + b.bytes.length > maxBytes) break;
      out.push(b.bytes);
      bytes += b.bytes.length;
    }
    return out;
  }

  /** The first offset whose batch has a timestamp >= `timestamp`, or the end offset. */
  offsetForTime(timestamp: bigint): bigint {
    for (const b of this.#batches) if (b.maxTimestamp >= timestamp) return b.baseOffset;
    return this.#end;
  }

  /** Calls `wake` once, at the next append. Returns the function that cancels the wait. */
  waitForData(wake: () => void): () => void {
    this.#waiters.add(wake);
    return () => this.#waiters.delete(wake);
  }
}
