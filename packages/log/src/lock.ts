import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { LogLockedError } from './errors.js';
import { errno, fsyncDir } from './fs-util.js';

/** Directories this process has locked: a second `openLog` of one of them in this process is refused too. */
const heldHere = new Set<string>();

/** Whether a process with this pid exists (EPERM: it exists under another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errno(err) === 'EPERM';
  }
}

/** The pid in a lock file, or undefined when it is torn or not ours (then nobody holds it). */
async function lockOwner(path: string): Promise<number | undefined> {
  try {
    const text = await fsp.readFile(path, 'utf8');
    const pid = (JSON.parse(text) as { pid?: unknown }).pid;
    return typeof pid === 'number' && Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/** A held `dir/LOCK`; {@link LockFile.release} removes it. */
export class LockFile {
  readonly #path: string;
  readonly #dir: string;
  #held = true;

  private constructor(dir: string) {
    this.#dir = dir;
    this.#path = join(dir, 'LOCK');
  }

  /**
   * Takes `dir/LOCK`, writing our pid and start time. A lock whose pid is dead (or which is torn) is taken
   * over; a live holder (this process included) gets {@link LogLockedError}.
   */
  static async acquire(dir: string): Promise<LockFile> {
    if (heldHere.has(dir)) throw new LogLockedError(dir, process.pid);
    const path = join(dir, 'LOCK');
    const content = JSON.stringify({ pid: process.pid, startedAt: Math.round(Date.now() - process.uptime() * 1000) });
    // Two rounds: create; if it exists and its owner is dead, remove it and create again.
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fh = await fsp.open(path, 'wx');
        try {
          await fh.writeFile(content);
          await fh.datasync();
        } finally {
          await fh.close();
        }
        await fsyncDir(dir);
        heldHere.add(dir);
        return new LockFile(dir);
      } catch (err) {
        if (errno(err) !== 'EEXIST') throw err;
      }
      const pid = await lockOwner(path);
      if (pid !== undefined && (pid === process.pid || alive(pid))) {
        // Our own pid without an entry in heldHere is a lock left by an earlier process that had our pid.
        if (pid !== process.pid) throw new LogLockedError(dir, pid);
      }
      await fsp.rm(path, { force: true });
    }
    throw new LogLockedError(dir, (await lockOwner(path)) ?? 0);
  }

  /** Removes the lock file (once). */
  async release(): Promise<void> {
    if (!this.#held) return;
    this.#held = false;
    heldHere.delete(this.#dir);
    await fsp.rm(this.#path, { force: true });
  }
}
