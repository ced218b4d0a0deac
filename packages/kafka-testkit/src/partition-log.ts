import type { PartitionFile } from './partition-file.js';
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
 * offset, idempotent producer state, and the fetchers waiting for data. With a file, the batches
 * written there before are loaded (the producer state rebuilt from them, as Kafka does) and each
 * append reaches the file before it is visible.
 */
export class PartitionLog {
  readonly #batches: StoredBatch[] = [];
  #end = 0n;
  readonly #producers = new Map<bigint, ProducerState>();
  #waiters = new Set<() => void>();
  readonly #file: PartitionFile | undefined;
  /** The highest producer id among the batches loaded from the file; -1 when none. */
  readonly loadedMaxProducerId: bigint = -1n;

  constructor(file?: PartitionFile) {
    this.#file = file;
    if (file === undefined) return;
    for (const batch of file.load()) {
      this.#store(this.#end, batch.bytes, batch);
      if (batch.producerId > this.loadedMaxProducerId) this.loadedMaxProducerId = batch.producerId;
    }
  }

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
    const bytes = withBaseOffset(batch.bytes, baseOffset);
    // On file first: a failed write throws with the log unchanged.
    this.#file?.append(bytes);
    this.#store(baseOffset, bytes, batch);
    const waiters = this.#waiters;
    this.#waiters = new Set();
    for (const wake of waiters) wake();
    return { baseOffset };
  }

  /** Keeps a batch (already at `baseOffset`) and advances the producer's sequence. */
  #store(baseOffset: bigint, bytes: Buffer, batch: BatchInfo): void {
    const lastOffset = baseOffset + BigInt(batch.lastOffsetDelta);
    this.#batches.push({ baseOffset, lastOffset, maxTimestamp: batch.maxTimestamp, bytes });
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
