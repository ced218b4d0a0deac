import { duration, fn, integerAtLeast } from '../support/validate.js';
import { type ConfirmOptions, type ExecutorOptions, PeriodicalExecutor } from './periodical-executor.js';
import type { TaskContainer } from './task-container.js';

/** go-zero's `Execute`: handles one batch of tasks, in add order. */
export type Execute<Task> = (tasks: Task[]) => void | Promise<void>;

/** Options of {@link BulkExecutor}. */
export interface BulkExecutorOptions<Task> extends ExecutorOptions<Task[]> {
  /**
   * Tasks per batch: a batch executes as soon as it holds this many (go-zero's `WithBulkTasks`).
   * @default 1000
   */
  bulkTasks?: number;
  /**
   * Longest wait of a partial batch, in milliseconds (go-zero's `WithBulkInterval`).
   * @default 1000
   */
  flushIntervalMs?: number;
}

class BulkContainer<Task> implements TaskContainer<Task, Task[]> {
  #tasks: Task[] = [];
  constructor(
    readonly maxTasks: number,
    readonly execute: Execute<Task>,
  ) {}
  addTask(task: Task): boolean {
    return this.#tasks.push(task) >= this.maxTasks;
  }
  removeAll(): Task[] {
    const tasks = this.#tasks;
    this.#tasks = [];
    return tasks;
  }
}

/**
 * go-zero's `BulkExecutor`: batches tasks by count. `execute` gets each batch of up to `bulkTasks`
 * tasks, in add order, at least every `flushIntervalMs`.
 *
 * ```ts
 * const inserter = new BulkExecutor<Row>((rows) => db.insertMany(rows), { bulkTasks: 500 });
 * await inserter.add(row);          // undefined, or the back-pressure promise of a full batch
 * await inserter.addAndConfirm(row); // resolves once the batch holding `row` was written
 * await inserter.close();
 * ```
 */
export class BulkExecutor<Task> extends PeriodicalExecutor<Task, Task[]> {
  /**
   * @throws {InvalidOptionError} when `execute` is not a function, `bulkTasks` < 1 or
   *   `flushIntervalMs` <= 0.
   */
  constructor(execute: Execute<Task>, options: BulkExecutorOptions<Task> = {}) {
    const run = fn<Execute<Task>>('execute', execute);
    const bulkTasks = integerAtLeast('bulkTasks', options.bulkTasks ?? 1000, 1);
    const interval = duration('flushIntervalMs', options.flushIntervalMs ?? 1000, Number.MIN_VALUE);
    super(interval, new BulkContainer<Task>(bulkTasks, run), options);
  }

  /**
   * Adds a task. Returns `undefined`, or, when it completed a batch, a promise that resolves once the
   * batch was accepted for execution.
   */
  override add(task: Task): Promise<void> | undefined {
    return super.add(task);
  }

  /**
   * Adds a task; resolves when its batch executed, rejects with that batch's error, or with
   * {@link ConfirmAbortedError} once `options.signal` aborts (the task may still execute).
   * A number or `undefined` in place of `options` (the base class's size) is ignored: batches count
   * tasks; the options are then the third argument, as a caller through a `PeriodicalExecutor` reference
   * passes them.
   */
  override addAndConfirm(task: Task, options?: ConfirmOptions | number, baseOptions?: ConfirmOptions): Promise<void> {
    const confirm = typeof options === 'object' && options !== null ? options : baseOptions;
    return super.addAndConfirm(task, undefined, confirm);
  }
}
