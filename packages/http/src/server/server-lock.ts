import { join } from 'node:path';
import { type Logger, QueueError } from '@q/core';
import { openLog, type SegmentLog } from '@q/log';

/**
 * Another live process (or another server in this one) serves the directory: a second server must not
 * share it. Each topic's log is locked on its own, but a topic neither server had opened yet would be
 * created by whichever got its first push, and a push to a topic the other holds would fail.
 */
export class ServerDirLockedError extends QueueError {
  override readonly code: string = 'Q_HTTP_DIR_LOCKED';
  /** The server directory. */
  readonly dir: string;

  constructor(dir: string, holder: string, options?: ErrorOptions) {
    super(`${dir} is served by ${holder}: one q-http server per directory`, options);
    this.dir = dir;
  }
}

/**
 * The server directory's lock, held from before the topics are opened until after they closed. It
 * is `@q/log`'s own lock (pid and process start time, taken over from a process that died, refused
 * for a second holder in this process) on an empty log at `dir/server`, which holds no records.
 */
export class ServerLock {
  readonly #log: SegmentLog;

  private constructor(log: SegmentLog) {
    this.#log = log;
  }

  /** @throws {ServerDirLockedError} when a live server holds `dir`. */
  static async acquire(dir: string, logger: Logger): Promise<ServerLock> {
    try {
      return new ServerLock(await openLog({ dir: join(dir, 'server'), logger }));
    } catch (error) {
      const { code, pid } = error as { code?: unknown; pid?: unknown };
      if (code !== 'Q_LOG_LOCKED') throw error;
      const holder = pid === process.pid ? `this process (pid ${pid})` : `the live process ${String(pid)}`;
      throw new ServerDirLockedError(dir, holder, { cause: error });
    }
  }

  /** Releases the lock. Idempotent. */
  release(): Promise<void> {
    return this.#log.close();
  }
}
