import type { Cursor } from '@q/log';

/**
 * When a run commits its cursor: to `target()` (the lowest unfinished record), never backwards, at least
 * `intervalMs` apart (what finished meanwhile shares the next commit), and at once on {@link RunCommits.now}.
 */
export class RunCommits {
  readonly #cursor: Cursor;
  readonly #intervalMs: number;
  readonly #target: () => number;
  readonly #error: (error: unknown, message: string) => void;
  #timer: NodeJS.Timeout | undefined;
  #last = 0;
  #committed: number;
  #stopped = false;

  constructor(
    cursor: Cursor,
    intervalMs: number,
    target: () => number,
    error: (error: unknown, message: string) => void,
  ) {
    this.#cursor = cursor;
    this.#intervalMs = intervalMs;
    this.#target = target;
    this.#error = error;
    this.#committed = cursor.position;
  }

  /** Commits to the target now (when it moved); rejects when the write fails. */
  now(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const target = this.#target();
    if (target <= this.#committed) return Promise.resolve();
    this.#committed = target;
    this.#last = performance.now();
    return this.#cursor.commit(target);
  }

  /** The target moved: commits now, or when `intervalMs` passed since the last commit. */
  schedule(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    const wait = this.#last + this.#intervalMs - performance.now();
    if (wait <= 0) this.#commitReported();
    else {
      this.#timer = setTimeout(() => this.#commitReported(), wait);
      this.#timer.unref();
    }
  }

  /** No more scheduled commits (the run stopped); {@link RunCommits.now} still commits. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #commitReported(): void {
    this.now().catch((err: unknown) => {
      if (!this.#stopped) this.#error(err, 'http: committing the cursor failed; the next commit covers it');
    });
  }
}
