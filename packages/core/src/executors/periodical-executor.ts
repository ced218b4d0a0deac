import pLimit, { type LimitFunction } from 'p-limit';
import { abortable } from '../support/abortable.js';
import { type Clock, systemClock, type TimerHandle } from '../support/clock.js';
import { ExecutorClosedError, InvalidOptionError } from '../support/errors.js';
import { consoleLogger, type Logger } from '../support/logger.js';
import { duration, integerAtLeast, optionalFn } from '../support/validate.js';
import { ConfirmAbortedError } from './confirm-aborted-error.js';
import type { ShutdownManager } from './shutdown-manager.js';
import { hasTasks, type TaskContainer } from './task-container.js';

/** go-zero's `idleRound`: the background ticker stops after this many intervals without work. */
const IDLE_ROUNDS = 10;

/** Options shared by every batching executor. */
export interface ExecutorOptions<Batch = unknown> {
  /**
   * Batches executing at once. 1 is go-zero's serial execution (batches run in the order they were
   * made); more lets slow I/O overlap (go-zero#4537), through `p-limit`.
   * @default 1
   */
  concurrency?: number;
  /**
   * Told about every failed execution (a throw or a rejection) with the batch that failed; the
   * executor goes on. Confirms of that batch reject with the same error.
   * @default logs through `logger`
   */
  onError?: (error: unknown, batch: Batch) => void;
  /** Registers a flush with this manager (run on SIGTERM/SIGINT once it is installed); `close()` removes it. */
  shutdown?: ShutdownManager;
  /**
   * Source of time and timers; a {@link ManualClock} makes tests deterministic.
   * @default systemClock
   */
  clock?: Clock;
  /**
   * Where failed executions are logged when there is no `onError`.
   * @default consoleLogger
   */
  logger?: Logger;
}

/** Options of the waits that can be abandoned: `addAndConfirm` and `flush`. */
export interface ConfirmOptions {
  /**
   * Ends this caller's wait when aborted: its promise rejects with {@link ConfirmAbortedError} at
   * once. The batch is not touched (other tasks in it still execute and confirm), so the task may
   * still be executed. Already aborted at the call: the promise rejects and nothing is added or run.
   * @default none
   */
  readonly signal?: AbortSignal;
}

/** Settles the confirms of one batch, created only when somebody asked for a confirm. */
class Ticket {
  readonly promise: Promise<void>;
  resolve!: () => void;
  reject!: (error: unknown) => void;
  constructor() {
    this.promise = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

/**
 * go-zero's `PeriodicalExecutor`: tasks go into a {@link TaskContainer}; a batch is executed when the
 * container says it is full, and every `intervalMs` for whatever was buffered.
 *
 * What it keeps from go-zero:
 * - the adder whose task filled the container gets a promise that resolves once the batch was
 *   accepted for execution, i.e. when the previous batch (with `concurrency` 1) is done: await it
 *   and you have go-zero's back-pressure. Other adds return `undefined` at once;
 * - a tick right after a size-triggered batch is skipped;
 * - after 10 intervals without work the ticker stops (a final flush runs), and the next `add`
 *   starts it again;
 * - empty batches are never executed; `flush()` resolves whether something ran; `wait()` flushes
 *   and waits for every execution in flight; `sync(fn)` runs `fn` between adds.
 *
 * What it adds: confirms ({@link PeriodicalExecutor.addAndConfirm}), errors to `onError` and to
 * confirms, a `concurrency` option, `close()`, opt-in shutdown flushing that can be removed, an
 * injectable clock, and validation of every argument. Every execution, including `flush()`'s, goes
 * through one `p-limit` queue, so with `concurrency` 1 executions never overlap (go-zero lets an
 * explicit `Flush` run beside the background loop).
 *
 * While tasks are buffered the ticker keeps the process alive, so buffered tasks are executed
 * before a process ends on its own; once the container is empty it no longer does.
 */
export class PeriodicalExecutor<Task, Batch = unknown> {
  readonly #intervalMs: number;
  readonly #container: TaskContainer<Task, Batch>;
  readonly #limit: LimitFunction;
  readonly #clock: Clock;
  readonly #onError: (error: unknown, batch: Batch) => void;
  readonly #unregister: (() => void) | undefined;
  readonly #name: string;

  #ticker: TimerHandle | undefined;
  #tickerHoldsProcess = false;
  #commanded = false;
  #lastExecution: number;
  /** Batches made full by an add and not yet accepted for execution (go-zero's `inflight`). */
  #inflight = 0;
  /** Batches dispatched and not finished. */
  #pending = 0;
  #idleWaiters: (() => void)[] = [];
  #ticket: Ticket | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  /**
   * @param intervalMs flush period in milliseconds, > 0.
   * @param container where tasks are batched.
   * @throws {InvalidOptionError} for a bad interval, container or option.
   */
  constructor(intervalMs: number, container: TaskContainer<Task, Batch>, options: ExecutorOptions<Batch> = {}) {
    this.#name = new.target.name;
    this.#intervalMs = duration('intervalMs', intervalMs, Number.MIN_VALUE);
    if (
      container === null ||
      typeof container !== 'object' ||
      typeof container.addTask !== 'function' ||
      typeof container.execute !== 'function' ||
      typeof container.removeAll !== 'function'
    ) {
      throw new InvalidOptionError('container', container, 'a TaskContainer (addTask, execute, removeAll)');
    }
    this.#container = container;
    this.#limit = pLimit(integerAtLeast('concurrency', options.concurrency ?? 1, 1));
    this.#clock = options.clock ?? systemClock;
    const logger = options.logger ?? consoleLogger;
    this.#onError =
      optionalFn<(error: unknown, batch: Batch) => void>('onError', options.onError) ??
      ((error) => logger.error({ err: error }, `${this.#name} execution failed`));
    this.#lastExecution = this.#clock.now();
    this.#unregister = options.shutdown?.onShutdown(() => this.wait());
  }

  /**
   * Adds a task. Returns `undefined`, or, when this task filled the container, a promise that
   * resolves once its batch was accepted for execution (back-pressure: await it).
   *
   * @param size passed on to the container's `addTask` (the chunk executor's byte count).
   * @throws {ExecutorClosedError} after `close()`.
   */
  add(task: Task, size?: number): Promise<void> | undefined {
    if (this.#closed) throw new ExecutorClosedError(this.#name);
    const full = this.#container.addTask(task, size);
    if (this.#ticker === undefined) this.#startTicker();
    else if (!this.#tickerHoldsProcess) {
      this.#tickerHoldsProcess = true;
      this.#ticker.ref?.();
    }
    return full ? this.#command() : undefined;
  }

  /**
   * Adds a task and returns a promise that resolves when the batch carrying it has executed, or
   * rejects with that batch's error. Tasks of one batch share one promise, so confirms cost one
   * promise per batch, not per task.
   *
   * @param options.signal ends the wait early (see {@link ConfirmOptions.signal}).
   * @throws {ExecutorClosedError} after `close()`.
   * @throws {InvalidOptionError} when `options.signal` is not an AbortSignal.
   */
  addAndConfirm(task: Task, size?: number, options?: ConfirmOptions): Promise<void> {
    if (this.#closed) throw new ExecutorClosedError(this.#name);
    const signal = signalOf(options);
    if (signal?.aborted) return Promise.reject(new ConfirmAbortedError(signal.reason));
    // Made before the add, so a batch this task fills carries the ticket.
    this.#ticket ??= new Ticket();
    const ticket = this.#ticket;
    this.add(task, size);
    return signal === undefined ? ticket.promise : confirmUnlessAborted(ticket.promise, signal);
  }

  /**
   * Executes whatever is buffered now; resolves `true` once it has run, `false` when there was
   * nothing to run.
   *
   * @param options.signal ends the wait early (see {@link ConfirmOptions.signal}); the flush goes on.
   * @throws {InvalidOptionError} when `options.signal` is not an AbortSignal.
   */
  flush(options?: ConfirmOptions): Promise<boolean> {
    const signal = signalOf(options);
    if (signal?.aborted) return Promise.reject(new ConfirmAbortedError(signal.reason));
    const flushed = this.#dispatch(this.#container.removeAll(), this.#takeTicket(), undefined);
    return signal === undefined ? flushed : confirmUnlessAborted(flushed, signal);
  }

  /** Flushes, then waits until no execution is in flight. The executor stays usable. */
  async wait(): Promise<void> {
    await this.flush();
    while (this.#pending > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  /** go-zero's `Sync`: runs `fn` between adds, so it may change the container safely. */
  sync<R>(fn: () => R): R {
    return fn();
  }

  /**
   * Flushes, waits for every execution, stops the ticker and removes the shutdown registration.
   * `add` throws from the moment it is called. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    this.#closing = (async () => {
      await this.wait();
      this.#stopTicker();
      this.#unregister?.();
    })();
    return this.#closing;
  }
  /** Same as {@link PeriodicalExecutor.close}; for `await using executor = ...`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether the background ticker is running (it stops after 10 idle intervals). */
  get running(): boolean {
    return this.#ticker !== undefined;
  }

  #command(): Promise<void> {
    const batch = this.#container.removeAll();
    const ticket = this.#takeTicket();
    this.#commanded = true;
    this.#inflight++;
    return new Promise<void>((accepted) => {
      void this.#dispatch(batch, ticket, () => {
        this.#inflight--;
        accepted();
      });
    });
  }

  #takeTicket(): Ticket | undefined {
    const ticket = this.#ticket;
    this.#ticket = undefined;
    return ticket;
  }

  #dispatch(batch: Batch, ticket: Ticket | undefined, onAccepted: (() => void) | undefined): Promise<boolean> {
    if (!hasTasks(batch)) {
      onAccepted?.();
      ticket?.resolve();
      return Promise.resolve(false);
    }
    this.#pending++;
    this.#lastExecution = this.#clock.now();
    return this.#limit(async () => {
      onAccepted?.();
      try {
        await this.#container.execute(batch);
        ticket?.resolve();
      } catch (error) {
        ticket?.reject(error);
        try {
          this.#onError(error, batch);
        } catch {
          // An error hook that throws must not take the executor down with it.
        }
      } finally {
        this.#lastExecution = this.#clock.now();
        if (--this.#pending === 0) {
          const waiters = this.#idleWaiters;
          this.#idleWaiters = [];
          for (const w of waiters) w();
        }
      }
      return true;
    });
  }

  #startTicker(): void {
    this.#lastExecution = this.#clock.now();
    this.#commanded = false;
    this.#ticker = this.#clock.setInterval(() => this.#tick(), this.#intervalMs);
    this.#tickerHoldsProcess = true;
  }

  #stopTicker(): void {
    if (this.#ticker === undefined) return;
    this.#clock.clearInterval(this.#ticker);
    this.#ticker = undefined;
  }

  #tick(): void {
    if (this.#commanded) {
      // A size-triggered batch just ran: this tick would flush a nearly empty container.
      this.#commanded = false;
      return;
    }
    const batch = this.#container.removeAll();
    if (hasTasks(batch)) {
      void this.#dispatch(batch, this.#takeTicket(), undefined);
      return;
    }
    if (this.#clock.now() - this.#lastExecution > this.#intervalMs * IDLE_ROUNDS && this.#inflight === 0) {
      this.#stopTicker();
      void this.flush();
      return;
    }
    // Nothing buffered: an idle ticker must not keep the process alive.
    if (this.#tickerHoldsProcess) {
      this.#tickerHoldsProcess = false;
      this.#ticker?.unref?.();
    }
  }
}

function signalOf(options: ConfirmOptions | undefined): AbortSignal | undefined {
  const signal = options?.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw new InvalidOptionError('signal', signal, 'an AbortSignal');
  return signal;
}

/**
 * `confirm`, or a {@link ConfirmAbortedError} as soon as `signal` aborts. The shared batch promise is
 * still observed by `abortable`, so its later rejection is never unhandled.
 */
function confirmUnlessAborted<R>(confirm: Promise<R>, signal: AbortSignal): Promise<R> {
  return abortable(confirm, signal, () => {
    throw new ConfirmAbortedError(signal.reason);
  });
}
