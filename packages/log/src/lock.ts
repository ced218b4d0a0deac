import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LogLockedError } from './errors.js';
import { errno, fsyncDir } from './fs-util.js';

/**
 * Directories this process has locked, by device and inode: a second `openLog` of one of them in this
 * process is refused too, however its path is spelled (a trailing slash, a relative path, a symlink).
 */
const heldHere = new Set<string>();

/** Rounds of create-or-take-over before giving up on a taker that stays in the way. */
const ATTEMPTS = 200;

/** Whether a process with this pid exists (EPERM: it exists under another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errno(err) === 'EPERM';
  }
}

/**
 * The start time of process `pid` as the kernel records it: field 22 of `/proc/<pid>/stat` (clock ticks
 * since boot), kept as the text it is so two readings compare exactly. Undefined where there is no procfs
 * (macOS, Windows) or the process is gone: the lock then falls back to pid liveness alone.
 */
async function processStart(pid: number): Promise<string | undefined> {
  let stat: string;
  try {
    stat = await fsp.readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces and parentheses: count from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = fields[22 - 3];
  return start !== undefined && /^\d+$/.test(start) ? start : undefined;
}

/** A lock (or claim) file: the pid in it (undefined when torn or not ours), its process start, its inode. */
interface Holder {
  readonly pid: number | undefined;
  /** When the holder took the lock (ms since epoch), for people reading it. */
  readonly startedAt: number | undefined;
  /** The holder's `/proc/<pid>/stat` start time when it wrote the file (absent in older locks, off Linux). */
  readonly procStart: string | undefined;
  readonly ino: number;
}

/** Reads a lock or claim file through one descriptor, so its content and inode belong together. */
async function readHolder(path: string): Promise<Holder | undefined> {
  let fh: FileHandle;
  try {
    fh = await fsp.open(path, 'r');
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const { ino } = await fh.stat();
    let pid: number | undefined;
    let procStart: string | undefined;
    let startedAt: number | undefined;
    try {
      const parsed = JSON.parse(await fh.readFile('utf8')) as {
        pid?: unknown;
        procStart?: unknown;
        startedAt?: unknown;
      };
      pid = typeof parsed.pid === 'number' && Number.isInteger(parsed.pid) && parsed.pid > 0 ? parsed.pid : undefined;
      procStart = typeof parsed.procStart === 'string' ? parsed.procStart : undefined;
      startedAt = typeof parsed.startedAt === 'number' ? parsed.startedAt : undefined;
    } catch {
      pid = undefined;
    }
    return { pid, startedAt, procStart, ino };
  } finally {
    await fh.close();
  }
}

/**
 * Whether `holder` is in the way: a live process other than this one (ours was checked in heldHere). A
 * live pid whose start time differs from the one the holder recorded is another process that got the dead
 * holder's pid: not in the way. Without both start times (an older LOCK, no procfs) liveness decides.
 */
async function liveOther(holder: Holder): Promise<boolean> {
  if (holder.pid === undefined || holder.pid === process.pid || !alive(holder.pid)) return false;
  if (holder.procStart === undefined) return true;
  const now = await processStart(holder.pid);
  return now === undefined ? alive(holder.pid) : now === holder.procStart;
}

/**
 * Who holds `dir/LOCK`, as `openLog` judges it (a reused pid is not the holder), read without taking it:
 * null when there is no LOCK file. For tools such as `q-log inspect`.
 */
export async function lockHolder(
  dir: string,
): Promise<{ readonly pid: number | undefined; readonly alive: boolean; readonly startedAt?: number } | null> {
  const holder = await readHolder(join(dir, 'LOCK'));
  if (holder === undefined) return null;
  const { pid, startedAt } = holder;
  return { pid, alive: await liveOther(holder), ...(startedAt === undefined ? {} : { startedAt }) };
}

async function inodeOf(path: string): Promise<number | undefined> {
  try {
    return (await fsp.stat(path)).ino;
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Replaces the dead `LOCK` whose inode is `lockIno` with our file `tmp`, unless another taker does. Deleting a
 * stale lock and creating ours is two steps two takers can interleave (both then hold it), so a taker first
 * claims the stale file by hard-linking its own into `LOCK.reap-<inode>`: link fails when the name exists,
 * so one taker wins each stale file. A claim whose taker died is claimed in turn by its own inode.
 */
async function reap(dir: string, path: string, lockIno: number, tmp: string): Promise<boolean> {
  let key = lockIno;
  for (let depth = 0; depth < ATTEMPTS; depth++) {
    const claim = join(dir, `LOCK.reap-${key}`);
    try {
      await fsp.link(tmp, claim);
    } catch (err) {
      if (errno(err) !== 'EEXIST') throw err;
      const other = await readHolder(claim);
      if (other === undefined || (await liveOther(other))) return false;
      key = other.ino;
      continue;
    }
    // The claim is ours: nobody else replaces this stale LOCK now; it may have been replaced before.
    if ((await inodeOf(path)) !== lockIno) return false;
    await fsp.rename(tmp, path);
    return true;
  }
  return false;
}

/** Removes claims and temp files that takeovers left (ours included), except those of live takers. */
async function cleanUp(dir: string): Promise<void> {
  for (const name of await fsp.readdir(dir)) {
    const tmpPid = /^LOCK\.(\d+)\.[0-9a-f-]+\.tmp$/.exec(name)?.[1];
    const stale = name.startsWith('LOCK.reap-') || (tmpPid !== undefined && !alive(Number(tmpPid)));
    if (stale || (tmpPid !== undefined && Number(tmpPid) === process.pid))
      await fsp.rm(join(dir, name), { force: true });
  }
}

/** A held `dir/LOCK`; {@link LockFile.release} removes it. */
export class LockFile {
  readonly #path: string;
  readonly #key: string;
  readonly #ino: number;
  #held = true;

  private constructor(dir: string, key: string, ino: number) {
    this.#key = key;
    this.#ino = ino;
    this.#path = join(dir, 'LOCK');
  }

  /**
   * Takes `dir/LOCK`, writing our pid and start time (wall clock, and on Linux the kernel's
   * `/proc/<pid>/stat` start time). A lock whose pid is dead, or now names another process than the one
   * that wrote it (pid reuse, told by the kernel start time; Linux only), or which is torn, is taken over;
   * a live holder (this process included) gets {@link LogLockedError}. The file is written whole and
   * synced under a temporary name first and then linked as `LOCK`, so nobody ever reads a half-written one.
   */
  static async acquire(dir: string): Promise<LockFile> {
    const st = await fsp.stat(dir);
    const key = `${st.dev}:${st.ino}`;
    if (heldHere.has(key)) throw new LogLockedError(dir, process.pid);
    heldHere.add(key);
    try {
      const ino = await LockFile.#take(dir);
      return new LockFile(dir, key, ino);
    } catch (err) {
      heldHere.delete(key);
      throw err;
    }
  }

  static async #take(dir: string): Promise<number> {
    const path = join(dir, 'LOCK');
    const token = randomUUID();
    const startedAt = Math.round(Date.now() - process.uptime() * 1000);
    const procStart = await processStart(process.pid);
    const tmp = join(dir, `LOCK.${process.pid}.${token}.tmp`);
    const fh = await fsp.open(tmp, 'wx');
    let ino: number;
    try {
      await fh.writeFile(JSON.stringify({ pid: process.pid, startedAt, token, ...(procStart && { procStart }) }));
      await fh.datasync();
      ino = (await fh.stat()).ino;
    } finally {
      await fh.close();
    }
    let last: Holder | undefined;
    try {
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        try {
          await fsp.link(tmp, path);
          await fsyncDir(dir);
          await cleanUp(dir);
          return ino;
        } catch (err) {
          if (errno(err) !== 'EEXIST') throw err;
        }
        last = await readHolder(path);
        if (last === undefined) continue;
        if (await liveOther(last)) throw new LogLockedError(dir, last.pid as number);
        if (await reap(dir, path, last.ino, tmp)) {
          await fsyncDir(dir);
          await cleanUp(dir);
          return ino;
        }
        // Another taker is at work: it will hold the lock (then we are refused) or die (then we retry).
        await sleep(5 + Math.random() * 10);
      }
    } finally {
      await fsp.rm(tmp, { force: true });
    }
    throw new LogLockedError(dir, last?.pid ?? 0);
  }

  /** Removes the lock file (once), if it is still ours. */
  async release(): Promise<void> {
    if (!this.#held) return;
    this.#held = false;
    heldHere.delete(this.#key);
    if ((await inodeOf(this.#path)) === this.#ino) await fsp.rm(this.#path, { force: true });
  }
}
