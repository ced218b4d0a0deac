import * as fs from 'node:fs';

/*
 * Callback `fs` wrapped in promises: lighter than FileHandle on the hot path (one closure, no handle
 * object), and every call runs on the libuv pool, so nothing here blocks the event loop.
 */

/** Writes all of `buf[0, length)` at `position`, looping over short writes. */
export async function writeAll(fd: number, buf: Buffer, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    done += await new Promise<number>((resolve, reject) =>
      fs.write(fd, buf, done, length - done, position + done, (err, n) => (err ? reject(err) : resolve(n))),
    );
  }
}

/** Reads up to `length` bytes at `position` into `buf` at `offset`; resolves with the count read. */
export function readAt(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.read(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))),
  );
}

/** Reads exactly `length` bytes at `position` (fewer only at the end of the file). */
export async function readFully(
  fd: number,
  buf: Buffer,
  offset: number,
  length: number,
  position: number,
): Promise<number> {
  let done = 0;
  while (done < length) {
    const n = await readAt(fd, buf, offset + done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Opens `path` with `flags` (a string or `fs.constants` bits) and `mode`; resolves with the descriptor. */
export function openFd(path: string, flags: string | number, mode = 0o666): Promise<number> {
  return new Promise((resolve, reject) => fs.open(path, flags, mode, (err, fd) => (err ? reject(err) : resolve(fd))));
}

/** Cuts the file behind `fd` to `size` bytes. */
export function ftruncate(fd: number, size: number): Promise<void> {
  return new Promise((resolve, reject) => fs.ftruncate(fd, size, (err) => (err ? reject(err) : resolve())));
}

/** `fdatasync(2)` off the event loop. */
export function fdatasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

/**
 * Makes a directory's entries durable (a created, renamed or deleted file): open it read-only and fsync it,
 * as NATS and VictoriaMetrics do; works on Linux, and a platform that refuses it (EISDIR, EPERM, EINVAL on
 * some) is left to its own rules.
 */
export async function fsyncDir(path: string): Promise<void> {
  const fd = await fs.promises.open(path, 'r');
  try {
    await fd.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw err;
  } finally {
    await fd.close();
  }
}

/** The `code` of a Node system error, if any. */
export function errno(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? ((err as NodeJS.ErrnoException).code ?? undefined) : undefined;
}

/** Whether an error means the disk (or the user's quota) is full. */
export function isDiskFull(err: unknown): boolean {
  const code = errno(err);
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** Closes a descriptor, ignoring failures (the file is being given up anyway). */
export function closeQuietly(fd: number): Promise<void> {
  return new Promise((resolve) => fs.close(fd, () => resolve()));
}
