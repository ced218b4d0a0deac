import { InvalidOptionError } from '../support/errors.js';
import { duration, fn, integerAtLeast } from '../support/validate.js';
import type { Execute } from './bulk-executor.js';
import { type ConfirmOptions, type ExecutorOptions, PeriodicalExecutor } from './periodical-executor.js';
import type { TaskContainer } from './task-container.js';

/** Options of {@link ChunkExecutor}. */
export interface ChunkExecutorOptions<Task> extends ExecutorOptions<Task[]> {
  /**
   * Bytes per batch: a batch executes as soon as the sizes given to `add` reach this (go-zero's
   * `WithChunkBytes`). A single task larger than this is executed at once with what was buffered.
   * @default 1048576 (1 MiB)
   */
  chunkBytes?: number;
  /**
   * Tasks per batch: a batch also executes once it holds this many tasks, whatever their bytes. Not in
   * go-zero; it bounds the work of one execution when tasks are small (a Kafka send encodes its whole
   * batch in one go, blocking the event loop meanwhile).
   * @default Infinity (bytes only, as go-zero)
   */
  chunkTasks?: number;
  /**
   * Longest wait of a partial batch, in milliseconds (go-zero's `WithFlushInterval`).
   * @default 1000
   */
  flushIntervalMs?: number;
}

class ChunkContainer<Task> implements TaskContainer<Task, Task[]> {
  #tasks: Task[] = [];
  #bytes = 0;
  constructor(
    readonly maxBytes: number,
    readonly maxTasks: number,
    readonly execute: Execute<Task>,
  ) {}
  addTask(task: Task, size = 0): boolean {
    this.#tasks.push(task);
    this.#bytes += size;
    return this.#bytes >= this.maxBytes || this.#tasks.length >= this.maxTasks;
  }
  removeAll(): Task[] {
    const tasks = this.#tasks;
    this.#tasks = [];
    this.#bytes = 0;
    return tasks;
  }
}

/**
 * go-zero's `ChunkExecutor`: batches tasks by size in bytes, as told by the caller. The Redis and
 * Kafka pushers write through it.
 *
 * ```ts
 * const writer = new ChunkExecutor<Buffer>((chunk) => socket.write(Buffer.concat(chunk)));
 * writer.add(payload, payload.byteLength);
 * await writer.addAndConfirm(payload, payload.byteLength); // resolves once its chunk was written
 * ```
 */
export class ChunkExecutor<Task> extends PeriodicalExecutor<Task, Task[]> {
  /**
   * @throws {InvalidOptionError} when `execute` is not a function, `chunkBytes` or `chunkTasks` < 1
   *   or `flushIntervalMs` <= 0.
   */
  constructor(execute: Execute<Task>, options: ChunkExecutorOptions<Task> = {}) {
    const run = fn<Execute<Task>>('execute', execute);
    const chunkBytes = integerAtLeast('chunkBytes', options.chunkBytes ?? 1024 * 1024, 1);
    const chunkTasks =
      options.chunkTasks === undefined || options.chunkTasks === Number.POSITIVE_INFINITY
        ? Number.POSITIVE_INFINITY
        : integerAtLeast('chunkTasks', options.chunkTasks, 1);
    const interval = duration('flushIntervalMs', options.flushIntervalMs ?? 1000, Number.MIN_VALUE);
    super(interval, new ChunkContainer<Task>(chunkBytes, chunkTasks, run), options);
  }

  /**
   * Adds a task of `bytes` bytes. Returns `undefined`, or, when it completed a chunk, a promise that
   * resolves once the chunk was accepted for execution.
   *
   * @throws {InvalidOptionError} when `bytes` is negative or not a finite number.
   * @throws {ExecutorClosedError} after `close()`.
   */
  override add(task: Task, bytes: number): Promise<void> | undefined {
    if (!(bytes >= 0) || bytes === Number.POSITIVE_INFINITY) throw badBytes(bytes);
    return super.add(task, bytes);
  }

  /**
   * Adds a task of `bytes` bytes; resolves when its chunk executed, rejects with that chunk's error,
   * or with {@link ConfirmAbortedError} once `options.signal` aborts (the task may still execute).
   */
  override addAndConfirm(task: Task, bytes: number, options?: ConfirmOptions): Promise<void> {
    if (!(bytes >= 0) || bytes === Number.POSITIVE_INFINITY) throw badBytes(bytes);
    return super.addAndConfirm(task, bytes, options);
  }
}

function badBytes(bytes: unknown): InvalidOptionError {
  return new InvalidOptionError('bytes', bytes, 'a finite number >= 0');
}
