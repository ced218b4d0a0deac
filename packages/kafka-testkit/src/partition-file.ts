import { closeSync, existsSync, fsync, ftruncateSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import { type BatchInfo, scanStoredBatches } from './record-batch.js';

/** What a partition file needs of the data directory it lives in. */
export interface PartitionFileOwner {
  /** Whether appends must reach the disk (not only the page cache) before they are acknowledged. */
  readonly fsync: boolean;
  /** A file was appended to; its data must be synced before the next response (only with `fsync`). */
  dirty(file: PartitionFile): void;
  /** A file was created; the directory entry must be synced (only with `fsync`). */
  created(): void;
  /** Told about a torn or damaged tail cut at load. */
  log(line: string): void;
}

/**
 * One partition's log on disk: its record batches one after the other, exactly as the broker stores
 * and serves them (base offsets rewritten; each batch carries its own length and CRC-32C, as in a
 * Kafka segment). Appended to synchronously, so a batch is in the page cache before the produce
 * request that brought it is answered: a killed process loses nothing it acknowledged.
 */
export class PartitionFile {
  /** The file's path. */
  readonly path: string;
  readonly #owner: PartitionFileOwner;
  #fd: number | undefined;
  /** Bytes of whole batches in the file: appends go here, a failed one is cut back to it. */
  #size = 0;

  constructor(owner: PartitionFileOwner, path: string) {
    this.#owner = owner;
    this.path = path;
  }

  /**
   * Reads the whole batches in the file and cuts off anything after them (a tail torn by a kill or a
   * power loss), so that later appends follow the last whole batch.
   */
  load(): BatchInfo[] {
    if (!existsSync(this.path)) return [];
    const content = readFileSync(this.path);
    const { batches, validBytes } = scanStoredBatches(content);
    if (validBytes < content.length) {
      this.#owner.log(
        `${this.path}: cut ${content.length - validBytes} bytes after the last whole batch (offset ${offsetAfter(batches)})`,
      );
      truncateSync(this.path, validBytes);
    }
    this.#size = validBytes;
    return batches;
  }

  /**
   * Appends one stored batch. Throws when the write fails, after cutting the file back to what it
   * held, so a half-written batch can never sit in front of later ones.
   */
  append(bytes: Buffer): void {
    const fd = this.#open();
    try {
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    } catch (error) {
      ftruncateSync(fd, this.#size);
      throw error;
    }
    this.#size += bytes.length;
    if (this.#owner.fsync) this.#owner.dirty(this);
  }

  /** Forces what was appended to the disk. The file must stay open until this settles. */
  sync(): Promise<void> {
    const fd = this.#fd;
    if (fd === undefined) return Promise.resolve();
    return new Promise((resolve, reject) => fsync(fd, (error) => (error === null ? resolve() : reject(error))));
  }

  /** Closes the file (a later append opens it again). */
  close(): void {
    if (this.#fd === undefined) return;
    closeSync(this.#fd);
    this.#fd = undefined;
  }

  #open(): number {
    if (this.#fd !== undefined) return this.#fd;
    const created = !existsSync(this.path);
    // 'a' writes at the end whatever the position; the size is known from load() (0 when new).
    this.#fd = openSync(this.path, 'a');
    if (created) this.#owner.created();
    return this.#fd;
  }
}

function offsetAfter(batches: readonly BatchInfo[]): bigint {
  const last = batches[batches.length - 1];
  return last === undefined ? 0n : last.bytes.readBigInt64BE(0) + BigInt(last.count);
}
