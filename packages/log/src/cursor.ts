import { promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import { InvalidOptionError } from '@q/core';
import { crc32c } from './crc32c.js';
import { LogClosedError } from './errors.js';
import { readU32, readU64, writeU64 } from './format.js';
import { errno, fsyncDir } from './fs-util.js';

/**
 * A named, durable read position: `position` is the next seq to read. Each cursor is independent; a
 * replay with one never moves another.
 */
export interface Cursor {
  /** Its name (also its file name, `cursors/<name>.cur`). */
  readonly name: string;
  /** Next seq to read: 0 for a new cursor, or the log's first seq when retention has passed it. */
  readonly position: number;
  /** Moves the position to `max(position, seq)`; resolves when stored durably (temp file, fdatasync, rename, directory fsync). */
  commit(seq: number): Promise<void>;
  /** Moves the position to `seq`, backwards too (a replay); durable as {@link Cursor.commit}. */
  seek(seq: number): Promise<void>;
}

const MAGIC = 0x52554351; // "QCUR"
const FILE_BYTES = 16;
const NAME = /^[A-Za-z0-9._-]{1,200}$/;

/** Where the cursors live and what the log tells them. */
export interface CursorHost {
  /** Seq after the last record handed out: a cursor may not go past it. */
  nextSeq(): number;
  /** Lowest seq still stored. */
  firstSeq(): number;
  /** Called after a position became durable (retention may now delete segments). */
  committed(): void;
  /** Whether the log is closing or closed: its lock is (about to be) released, nothing may be written. */
  closed(): boolean;
}

/**
 * The position stored in a cursor file (`dir/cursors/<name>.cur`: "QCUR", u64 position, u32 CRC-32C of
 * the 12 bytes before). Throws, with the reason, when the bytes are not a whole cursor file.
 */
export function decodeCursorFile(buf: Buffer): number {
  if (buf.length !== FILE_BYTES) throw new Error(`${buf.length} bytes, expected ${FILE_BYTES}`);
  if (readU32(buf, 0) !== MAGIC) throw new Error('bad magic (not a QCUR cursor file)');
  if (readU32(buf, 12) !== crc32c(buf, 0, 12)) throw new Error('checksum mismatch (CRC-32C)');
  const position = readU64(buf, 4);
  if (Number.isNaN(position)) throw new Error('position out of range');
  return position;
}

/** Reads a cursor file: its position, or undefined when missing or not whole. */
async function readCursorFile(path: string): Promise<number | undefined> {
  let buf: Buffer;
  try {
    buf = await fsp.readFile(path);
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return decodeCursorFile(buf);
  } catch {
    return undefined;
  }
}

class FileCursor implements Cursor {
  readonly name: string;
  readonly #store: CursorStore;
  readonly #path: string;
  #position: number;
  /** The position as stored on disk (what retention may rely on). */
  durable: number;
  #inflight: Promise<void> | undefined;
  #queued: Promise<void> | undefined;

  constructor(store: CursorStore, name: string, path: string, position: number) {
    this.#store = store;
    this.name = name;
    this.#path = path;
    this.#position = position;
    this.durable = position;
  }

  get position(): number {
    return Math.max(this.#position, this.#store.host.firstSeq());
  }

  commit(seq: number): Promise<void> {
    this.#check(seq);
    // After close the directory may belong to another process: a late write would overwrite its cursor.
    if (this.#store.host.closed()) return Promise.reject(new LogClosedError(dirname(this.#store.dir)));
    if (seq <= this.#position) return this.#inflight ?? this.#queued ?? Promise.resolve();
    this.#position = seq;
    return this.#persist();
  }

  seek(seq: number): Promise<void> {
    this.#check(seq);
    if (this.#store.host.closed()) return Promise.reject(new LogClosedError(dirname(this.#store.dir)));
    this.#position = seq;
    return this.#persist();
  }

  #check(seq: number): void {
    const max = this.#store.host.nextSeq();
    if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 0 || seq > max)
      throw new InvalidOptionError('seq', seq, `an integer from 0 to the log's nextSeq (${max})`);
  }

  /** Resolves when no write of this cursor is under way or queued (failures are the committers' to see). */
  async idle(): Promise<void> {
    for (let p = this.#queued ?? this.#inflight; p !== undefined; p = this.#queued ?? this.#inflight)
      await p.catch(() => undefined);
  }

  /** One write at a time; calls during a write share the next one, which stores the latest position. */
  #persist(): Promise<void> {
    if (this.#inflight === undefined) {
      this.#inflight = this.#write().finally(() => {
        this.#inflight = undefined;
      });
      return this.#inflight;
    }
    this.#queued ??= this.#inflight
      .catch(() => undefined)
      .then(() => {
        this.#queued = undefined;
        return this.#persist();
      });
    return this.#queued;
  }

  async #write(): Promise<void> {
    const position = this.#position;
    const buf = Buffer.allocUnsafe(FILE_BYTES);
    buf.writeUInt32LE(MAGIC, 0);
    writeU64(buf, 4, position);
    buf.writeUInt32LE(crc32c(buf, 0, 12), 12);
    const tmp = `${this.#path}.tmp`;
    const fh = await fsp.open(tmp, 'w');
    try {
      await fh.write(buf, 0, FILE_BYTES, 0);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, this.#path);
    await fsyncDir(this.#store.dir);
    this.durable = position;
    this.#store.host.committed();
  }
}

/** The cursors of a log: loaded at open, created on first use. */
export class CursorStore {
  readonly dir: string;
  readonly host: CursorHost;
  readonly #cursors = new Map<string, FileCursor>();
  readonly #stored: Map<string, number>;

  private constructor(dir: string, host: CursorHost, stored: Map<string, number>) {
    this.dir = dir;
    this.host = host;
    this.#stored = stored;
  }

  /** Reads `dir/*.cur`; leftover temp files (a write cut short) are removed, so the previous value stands. */
  static async load(dir: string, host: CursorHost): Promise<CursorStore> {
    await fsp.mkdir(dir, { recursive: true });
    const stored = new Map<string, number>();
    for (const file of await fsp.readdir(dir)) {
      if (file.endsWith('.tmp')) await fsp.rm(join(dir, file), { force: true });
      else if (file.endsWith('.cur')) {
        const position = await readCursorFile(join(dir, file));
        if (position !== undefined) stored.set(file.slice(0, -4), position);
      }
    }
    return new CursorStore(dir, host, stored);
  }

  /** Highest stored position (0 when none): recovery never hands out a seq a cursor has passed. */
  maxStored(): number {
    let max = 0;
    for (const p of this.#stored.values()) max = Math.max(max, p);
    return max;
  }

  /** Lowest durable position over all cursors, or undefined when there are none. */
  minDurable(): number | undefined {
    let min: number | undefined;
    for (const [name, p] of this.#stored) {
      const durable = this.#cursors.get(name)?.durable ?? p;
      min = min === undefined ? durable : Math.min(min, durable);
    }
    for (const [name, c] of this.#cursors)
      if (!this.#stored.has(name)) min = min === undefined ? c.durable : Math.min(min, c.durable);
    return min;
  }

  /** Resolves when every cursor write under way has ended (close waits for them before releasing the lock). */
  async idle(): Promise<void> {
    await Promise.all([...this.#cursors.values()].map((c) => c.idle()));
  }

  /** The cursor of this name (the same object on every call). */
  async get(name: string): Promise<Cursor> {
    if (typeof name !== 'string' || !NAME.test(name))
      throw new InvalidOptionError('name', name, 'a cursor name of 1 to 200 characters among A-Z a-z 0-9 . _ -');
    let cursor = this.#cursors.get(name);
    if (cursor === undefined) {
      const stored = this.#stored.get(name);
      cursor = new FileCursor(this, name, join(this.dir, `${name}.cur`), stored ?? 0);
      this.#cursors.set(name, cursor);
      // Stored at once, so it holds retention back from now on, across reopens too.
      if (stored === undefined) await cursor.seek(0);
      this.#stored.set(name, cursor.durable);
    }
    return cursor;
  }
}
