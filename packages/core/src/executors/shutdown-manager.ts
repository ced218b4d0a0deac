import { consoleLogger, type Logger, safeLogger } from '../support/logger.js';
import { duration } from '../support/validate.js';

/** A function run at shutdown; a returned promise is waited for (within the wait budget). */
export type ShutdownListener = () => unknown;

/** Options of {@link ShutdownManager.install}. */
export interface ShutdownInstallOptions {
  /**
   * Delay between running the wrap-up listeners and running the shutdown listeners (go-zero's
   * `WrapUpTime`), in milliseconds.
   * @default 1000
   */
  wrapUpMs?: number;
  /**
   * Longest time from the signal to the end of the process (go-zero's `WaitTime`, 5.5 s, chosen to
   * outlast a 5 s blocking poll), in milliseconds.
   * @default 5500
   */
  waitMs?: number;
  /**
   * Signals to handle.
   * @default ["SIGTERM", "SIGINT"]
   */
  signals?: readonly NodeJS.Signals[];
  /**
   * Whether to end the process once the listeners have finished (or at `waitMs`), by raising the
   * same signal again with the handlers removed. Set it to false if the application exits by itself.
   * @default true
   */
  exit?: boolean;
}

/**
 * go-zero's `proc` shutdown listeners, made opt-in: nothing happens on import, nothing is installed
 * until {@link ShutdownManager.install} is called, and every registration can be removed (go-zero
 * leaks one listener per executor).
 *
 * On a signal: the wrap-up listeners run at once; after `wrapUpMs` the shutdown listeners run, all
 * concurrently; the process ends when they have all settled, or at `waitMs` after the signal
 * whichever is first (go-zero always waits the full time, then re-sends the signal).
 *
 * ```ts
 * const shutdown = new ShutdownManager();
 * shutdown.install({ wrapUpMs: 1000, waitMs: 5500 });
 * const pusher = new ChunkExecutor(write, { shutdown }); // flushed on SIGTERM, unregistered on close()
 * ```
 */
export class ShutdownManager {
  readonly #wrapUp = new Set<ShutdownListener>();
  readonly #shutdown = new Set<ShutdownListener>();
  readonly #logger: Logger;
  #uninstall: (() => void) | undefined;
  #running: Promise<void> | undefined;

  constructor(options: { logger?: Logger } = {}) {
    this.#logger = safeLogger(options.logger ?? consoleLogger);
  }

  /** Registers a listener run at once when a signal arrives. Returns its remover. */
  onWrapUp(listener: ShutdownListener): () => void {
    this.#wrapUp.add(listener);
    return () => this.#wrapUp.delete(listener);
  }

  /** Registers a listener run `wrapUpMs` after the signal (flush here). Returns its remover. */
  onShutdown(listener: ShutdownListener): () => void {
    this.#shutdown.add(listener);
    return () => this.#shutdown.delete(listener);
  }

  /** Number of registered shutdown listeners. */
  get size(): number {
    return this.#shutdown.size;
  }

  /**
   * Handles the signals from now on. Returns the function that removes the handlers again (also
   * available as {@link ShutdownManager.uninstall}).
   *
   * @throws {InvalidOptionError} when a duration is negative or `waitMs` < `wrapUpMs`.
   */
  install(options: ShutdownInstallOptions = {}): () => void {
    const wrapUpMs = duration('wrapUpMs', options.wrapUpMs ?? 1000);
    const waitMs = duration('waitMs', options.waitMs ?? 5500, wrapUpMs);
    const signals = options.signals ?? (['SIGTERM', 'SIGINT'] as const);
    const exit = options.exit ?? true;
    this.uninstall();
    const handler = (signal: NodeJS.Signals): void => {
      // A second signal gets the default behaviour: the process ends at once.
      this.uninstall();
      void this.#onSignal(signal, wrapUpMs, waitMs, exit);
    };
    for (const s of signals) process.on(s, handler);
    this.#uninstall = () => {
      for (const s of signals) process.off(s, handler);
    };
    return () => this.uninstall();
  }

  /** Removes the signal handlers, if installed. */
  uninstall(): void {
    this.#uninstall?.();
    this.#uninstall = undefined;
  }

  /**
   * Runs every wrap-up listener, then every shutdown listener, concurrently within each group, and
   * resolves when all have settled. Errors are logged. This is what a signal triggers (without the
   * delays); call it directly in tests or from your own shutdown path.
   */
  run(): Promise<void> {
    this.#running ??= (async () => {
      await this.#notify(this.#wrapUp, 'wrap-up');
      await this.#notify(this.#shutdown, 'shutdown');
    })().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #onSignal(signal: NodeJS.Signals, wrapUpMs: number, waitMs: number, exit: boolean): Promise<void> {
    const force = setTimeout(() => {
      this.#logger.warn({ signal, waitMs }, `still alive ${waitMs} ms after ${signal}, ending the process`);
      if (exit) process.kill(process.pid, signal);
    }, waitMs);
    const wrapUp = this.#notify(this.#wrapUp, 'wrap-up');
    await new Promise((resolve) => setTimeout(resolve, wrapUpMs));
    await Promise.all([wrapUp, this.#notify(this.#shutdown, 'shutdown')]);
    clearTimeout(force);
    if (exit) process.kill(process.pid, signal);
  }

  async #notify(listeners: Set<ShutdownListener>, phase: string): Promise<void> {
    await Promise.all(
      [...listeners].map(async (listener) => {
        try {
          await listener();
        } catch (error) {
          this.#logger.error({ phase, err: error }, `${phase} listener failed`);
        }
      }),
    );
  }
}
