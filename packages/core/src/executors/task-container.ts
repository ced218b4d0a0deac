/**
 * go-zero's `TaskContainer`: what a {@link PeriodicalExecutor} batches into.
 *
 * `addTask` and `removeAll` are called only by the executor, never concurrently with each other;
 * `execute` runs a batch that `removeAll` returned, possibly while new tasks are being added.
 */
export interface TaskContainer<Task, Batch> {
  /**
   * Adds a task; returns true when the container is full and must be flushed now.
   * @param size what the caller passed to `add` (the chunk executor's byte count), if anything.
   */
  addTask(task: Task, size?: number): boolean;
  /** Handles a batch. Throwing or rejecting reports the error; the executor lives on. */
  execute(batch: Batch): void | Promise<void>;
  /** Takes everything out, resets, and returns it as one batch. */
  removeAll(): Batch;
}

/**
 * go-zero's `hasTasks`: whether a batch is worth executing. Nullish: no. Arrays, strings, typed
 * arrays: non-empty. Maps and Sets: non-empty. Anything else: yes (an opaque batch the container
 * knows how to handle).
 */
export function hasTasks(batch: unknown): boolean {
  if (batch === null || batch === undefined) return false;
  if (Array.isArray(batch) || typeof batch === 'string' || ArrayBuffer.isView(batch)) {
    return (batch as { length: number }).length > 0;
  }
  if (batch instanceof Map || batch instanceof Set) return batch.size > 0;
  return true;
}
