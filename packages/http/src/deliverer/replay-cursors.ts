import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Cursor, SegmentLog } from '@q/log';
import { REPLAY_CURSOR } from './deliverer-options.js';

/**
 * The replays' own cursors, `replay-<n>`: a running replay holds one (its position holds retention back from
 * the records it has still to send); a finished one is parked for the next replay to reuse. `@q/log` keeps
 * every cursor for good and retention never passes the lowest, so a parked cursor follows the live one
 * ({@link ReplayCursors.follow}): it never holds back more than the live cursor does. Cursors left by an
 * earlier process are found in `<log dir>/cursors/` and parked too.
 */
export class ReplayCursors {
  readonly #log: SegmentLog;
  readonly #parked: Cursor[] = [];
  readonly #names = new Set<string>();

  constructor(log: SegmentLog) {
    this.#log = log;
  }

  /** Parks the `replay-<n>` cursors found in the log's directory. */
  async load(): Promise<void> {
    let files: string[];
    try {
      files = await fsp.readdir(join(this.#log.dir, 'cursors'));
    } catch {
      return;
    }
    for (const file of files.sort()) {
      if (!file.endsWith('.cur')) continue;
      const name = file.slice(0, -4);
      if (!REPLAY_CURSOR.test(name) || this.#names.has(name)) continue;
      this.#names.add(name);
      this.#parked.push(await this.#log.cursor(name));
    }
  }

  /** Cursors parked now. */
  get parked(): number {
    return this.#parked.length;
  }

  /** A cursor for a replay: a parked one, or a new `replay-<n>` (the lowest n not in use). */
  async take(): Promise<Cursor> {
    const parked = this.#parked.pop();
    if (parked !== undefined) return parked;
    let n = 1;
    while (this.#names.has(`replay-${n}`)) n++;
    const name = `replay-${n}`;
    this.#names.add(name);
    try {
      return await this.#log.cursor(name);
    } catch (err) {
      this.#names.delete(name);
      throw err;
    }
  }

  /** Parks a cursor a replay is done with. */
  release(cursor: Cursor): void {
    this.#parked.push(cursor);
  }

  /** Moves the parked cursors up to `position` (never back); resolves when written. */
  async follow(position: number): Promise<void> {
    const moving = this.#parked.filter((c) => c.position < position);
    await Promise.all(moving.map((c) => c.commit(position)));
  }
}
