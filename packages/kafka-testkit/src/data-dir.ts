import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { PartitionFile, type PartitionFileOwner } from './partition-file.js';

/** A topic as `topics.json` keeps it. */
export interface StoredTopic {
  /** The topic's name. */
  readonly name: string;
  /** Its number of partitions. */
  readonly partitions: number;
  /** The configs it was created with (CreateTopics), kept but not interpreted. */
  readonly configs: Readonly<Record<string, string | null>>;
}

/** One committed offset as `offsets.json` keeps it (the offset as a decimal string: it is an int64). */
export interface StoredOffset {
  /** The topic. */
  readonly topic: string;
  /** The partition. */
  readonly partition: number;
  /** The next offset to read. */
  readonly offset: string;
  /** The metadata committed with it. */
  readonly metadata: string | null;
}

/** Committed offsets by group id. */
export type StoredOffsets = Record<string, StoredOffset[]>;

/** Options of {@link DataDir}. */
export interface DataDirOptions {
  /** Sync files and directory entries before answering. */
  readonly fsync: boolean;
  /** Told about tails cut at load. */
  readonly log: (line: string) => void;
  /** The committed offsets to write, asked for when a flush writes them. */
  readonly offsets: () => StoredOffsets;
}

const FORMAT = 1;

/** Throws a TypeError naming `dataDir` or `fsync` when they are not what a cluster accepts. */
export function checkDataDirOptions(dataDir: unknown, fsync: unknown): void {
  if (dataDir !== undefined && (typeof dataDir !== 'string' || dataDir === ''))
    throw new TypeError('Invalid option "dataDir": expected a non-empty directory path');
  if (fsync !== undefined && typeof fsync !== 'boolean')
    throw new TypeError('Invalid option "fsync": expected true or false');
  if (fsync === true && dataDir === undefined)
    throw new TypeError('Invalid option "fsync": needs "dataDir" (there is nothing to sync in memory)');
}

/**
 * The broker's state on disk: `topics.json` (written at once, temp file and rename, when a topic is
 * created), `offsets.json` (the same, written by the flush that follows a commit, before the commit
 * is answered) and `partitions/<topic>-<n>.log` (batches appended as they are produced). A `lock`
 * file holding the process id keeps two live brokers off the same directory; a kill leaves it behind
 * for the next start to take over.
 */
export class DataDir implements PartitionFileOwner {
  /** The directory. */
  readonly path: string;
  readonly fsync: boolean;
  readonly #options: DataDirOptions;
  readonly #files = new Set<PartitionFile>();
  readonly #dirtyFiles = new Set<PartitionFile>();
  #dirtyOffsets = false;
  #dirtyDirs = false;
  #flushing: Promise<void> | undefined;
  #closed = false;

  constructor(path: string, options: DataDirOptions) {
    this.path = path;
    this.fsync = options.fsync;
    this.#options = options;
    mkdirSync(join(path, 'partitions'), { recursive: true });
    lock(path);
  }

  /** The topics written so far, in the order they were created. */
  loadTopics(): StoredTopic[] {
    const file = join(this.path, 'topics.json');
    if (!existsSync(file)) return [];
    return (readJson(file) as { topics: StoredTopic[] }).topics;
  }

  /** Replaces `topics.json` (temp file and rename, synced with `fsync`) before returning. */
  saveTopics(topics: readonly StoredTopic[]): void {
    const file = join(this.path, 'topics.json');
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, JSON.stringify({ format: FORMAT, topics }));
    if (this.fsync) syncPath(tmp);
    renameSync(tmp, file);
    if (this.fsync) syncPath(this.path);
  }

  /** The committed offsets written by the last flush. */
  loadOffsets(): StoredOffsets {
    const file = join(this.path, 'offsets.json');
    if (!existsSync(file)) return {};
    return (readJson(file) as { groups: StoredOffsets }).groups;
  }

  /** The file of one partition (not opened until the first append). */
  partitionFile(topic: string, index: number): PartitionFile {
    // encodeURIComponent keeps the names Kafka allows ([a-zA-Z0-9._-]) and escapes any "/" of the
    // others (auto-created topics are not checked); the "-<n>.log" suffix rules out "." and "..".
    const file = new PartitionFile(this, join(this.path, 'partitions', `${encodeURIComponent(topic)}-${index}.log`));
    this.#files.add(file);
    return file;
  }

  /** Offsets were committed: they are written before the next response. */
  offsetsChanged(): void {
    this.#dirtyOffsets = true;
  }

  /** @internal */
  dirty(file: PartitionFile): void {
    this.#dirtyFiles.add(file);
  }

  /** @internal */
  created(): void {
    if (this.fsync) this.#dirtyDirs = true;
  }

  /** @internal */
  log(line: string): void {
    this.#options.log(line);
  }

  /**
   * Undefined when everything done so far is on disk (the page cache; the disk itself with `fsync`).
   * Otherwise a promise that settles once it is: offsets written, appended files and new directory
   * entries synced. A response must not leave before it, as it may acknowledge what is not yet there.
   */
  durable(): Promise<void> | undefined {
    if (this.#flushing !== undefined) return this.#flushing;
    if (!this.#dirtyOffsets && this.#dirtyFiles.size === 0 && !this.#dirtyDirs) return undefined;
    this.#flushing = this.#flush().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  /** Writes what is pending, closes the files and removes the lock. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.durable();
    } finally {
      for (const f of this.#files) f.close();
      rmLock(join(this.path, 'lock'));
    }
  }

  /** Repeats until nothing is pending, so a caller that came during a round is covered by the next. */
  async #flush(): Promise<void> {
    while (this.#dirtyOffsets || this.#dirtyFiles.size > 0 || this.#dirtyDirs) {
      const offsets = this.#dirtyOffsets;
      const files = [...this.#dirtyFiles];
      const dirs = this.#dirtyDirs;
      this.#dirtyOffsets = false;
      this.#dirtyFiles.clear();
      this.#dirtyDirs = false;
      try {
        if (offsets) await this.#writeOffsets();
        await Promise.all(files.map((f) => f.sync()));
        if (dirs) syncPath(join(this.path, 'partitions'));
      } catch (error) {
        // Not on disk: the next flush tries again.
        this.#dirtyOffsets ||= offsets;
        for (const f of files) this.#dirtyFiles.add(f);
        this.#dirtyDirs ||= dirs;
        throw error;
      }
    }
  }

  async #writeOffsets(): Promise<void> {
    const file = join(this.path, 'offsets.json');
    const tmp = `${file}.tmp`;
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(JSON.stringify({ format: FORMAT, groups: this.#options.offsets() }));
      if (this.fsync) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
    if (this.fsync) syncPath(this.path);
  }
}

function readJson(file: string): unknown {
  const value = JSON.parse(readFileSync(file, 'utf8')) as { format?: unknown };
  if (value.format !== FORMAT) throw new Error(`${file}: unknown format ${String(value.format)} (expected ${FORMAT})`);
  return value;
}

/** fsync of a file or a directory (a directory's entries: a rename or a new file survives power loss). */
function syncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Takes the directory's lock, or throws naming the live process that holds it. */
function lock(dir: string): void {
  const file = join(dir, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(readFileSync(file, 'utf8'));
    if (Number.isInteger(holder) && holder > 0 && alive(holder))
      throw new Error(`data directory ${dir} is in use by process ${holder} (its lock file is ${file})`);
    // Left by a process that was killed: take it over.
    unlinkSync(file);
  }
  throw new Error(`cannot take the lock ${file}`);
}

function rmLock(file: string): void {
  try {
    if (Number(readFileSync(file, 'utf8')) === process.pid) unlinkSync(file);
  } catch {
    // Already gone: nothing to release.
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
