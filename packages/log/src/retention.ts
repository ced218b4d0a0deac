import type { CursorStore } from './cursor.js';
import { fsyncDir } from './fs-util.js';
import type { LogState } from './log-state.js';
import { unlinkSegment } from './segment-files.js';

/**
 * Deletes whole sealed segments, oldest first: once every cursor has durably passed them (when there is a
 * cursor at all), once older than `maxAgeMs`, or, with no cursor, while the log is above `maxBytes`. Never
 * the active segment, nor one a read or reader is in (or before). The order is Vector's lesson (PR #25570):
 * cursor state is durable before the unlink, and a missing file is fine at the next open.
 */
export class Retention {
  readonly #state: LogState;
  readonly #cursors: CursorStore;
  #running: Promise<number[]> | undefined;
  #again = false;
  /** Bytes an append waits to write: without cursors, retention drops old segments to make room for them. */
  #need = 0;

  constructor(state: LogState, cursors: CursorStore) {
    this.#state = state;
    this.#cursors = cursors;
  }

  /** Runs retention (one pass at a time; a call during a pass gets one more pass after it). */
  async apply(needBytes = 0): Promise<number[]> {
    this.#need = Math.max(this.#need, needBytes);
    if (this.#running) {
      // The running loop makes one more pass for this call before it resolves.
      this.#again = true;
      return this.#running;
    }
    const deleted: number[] = [];
    this.#running = (async () => {
      do {
        this.#again = false;
        deleted.push(...(await this.#pass()));
      } while (this.#again);
      return deleted;
    })();
    try {
      return await this.#running;
    } finally {
      this.#running = undefined;
    }
  }

  /** Resolves when no pass is running (close waits for it, so no deletion outlives the log). */
  async idle(): Promise<void> {
    await this.#running?.catch(() => undefined);
  }

  /** Runs retention in the background, logging a failure (after commits and rolls). */
  kick(): void {
    if (this.#state.closed) return;
    this.apply().catch((err: unknown) => this.#state.logger.error({ err }, 'log retention failed'));
  }

  async #pass(): Promise<number[]> {
    const state = this.#state;
    const { maxAgeMs, maxBytes } = state.options;
    const cursorMin = this.#cursors.minDurable();
    let readerMin = Number.POSITIVE_INFINITY;
    for (const r of state.readers) readerMin = Math.min(readerMin, r.position);
    const now = Date.now();
    const deleted: number[] = [];
    while (state.segments.length > 1 && !state.closed) {
      const seg = state.segments[0];
      if (seg === undefined || seg.refs > 0 || seg.endSeq > readerMin) break;
      const passed = cursorMin !== undefined && seg.endSeq <= cursorMin;
      const aged = now - seg.lastWriteMs > maxAgeMs;
      const over = cursorMin === undefined && state.bytes + this.#need > maxBytes;
      if (!passed && !aged && !over) break;
      state.segments.shift();
      state.bytes -= seg.size;
      seg.deleted = true;
      try {
        await unlinkSegment(seg);
      } catch (err) {
        // Still on disk (EIO, a read-only remount): it stays a segment of the log and counts against maxBytes.
        seg.deleted = false;
        state.segments.unshift(seg);
        state.bytes += seg.size;
        throw err;
      }
      deleted.push(seg.firstSeq);
    }
    this.#need = 0;
    if (deleted.length > 0) {
      await fsyncDir(state.segDir);
      state.logger.debug({ deleted }, 'log retention deleted segments');
      state.notify();
    }
    return deleted;
  }
}
