import { promiseInto, whenAborted } from '@q/core/internal';
import { LogClosedError, LogFullError, LogSyncError } from './errors.js';
import { FRAME_OVERHEAD, SEGMENT_HEADER_BYTES } from './format.js';
import { fdatasync, ftruncate, isDiskFull } from './fs-util.js';
import { GroupBuffer, type WrittenGroup, writeGroup } from './group-encoder.js';
import type { LogState } from './log-state.js';
import { createSegment, emptyFile, writeActiveIndex, writeSealedIndex } from './segment-files.js';
import { ZeroFill } from './zero-fill.js';

/** One record ready to encode: its body, headers and their encoded sizes. */
export interface PreparedRecord {
  readonly body: Buffer | string;
  readonly headers: Readonly<Record<string, string>> | undefined;
  readonly hLen: number;
  readonly bLen: number;
}

/** An append waiting for its group: one record, or a batch that is written in one piece. */
class Request {
  readonly records: PreparedRecord | readonly PreparedRecord[];
  readonly bytes: number;
  readonly timestamp: number;
  resolve: (firstSeq: number) => void = noop;
  reject: (err: unknown) => void = noop;
  /** Taken into a group being written: an abort can no longer withdraw it. */
  taken = false;
  /** Withdrawn by its signal before it was taken. */
  withdrawn = false;

  constructor(records: PreparedRecord | readonly PreparedRecord[], bytes: number, timestamp: number) {
    this.records = records;
    this.bytes = bytes;
    this.timestamp = timestamp;
  }
}

const noop = (): void => undefined;

/** A group grows no larger than this unless one request alone is larger, so a burst does not hold gigabytes. */
const GROUP_MAX_BYTES = 8 * 1024 * 1024;

/** Hooks of the log around the write path: retention makes room, and tells when room came back. */
export interface RoomKeeper {
  /** Deletes what retention allows; resolves when done. */
  makeRoom(needBytes: number): Promise<void>;
  /** A new segment was started (retention may now delete the old ones); must not throw. */
  afterRoll(): void;
}

/**
 * The write path. Appends queue up while a `write` + `fdatasync` runs; when it ends, everything queued goes
 * out as the next group: one buffer (encoded in place, one CRC per frame), one positional write, one
 * `fdatasync`, then every append of the group resolves. One sync is in flight per log, so a group's size
 * follows the load: one record when appends are rare, hundreds under 256 concurrent appenders.
 */
export class GroupCommitter {
  readonly #state: LogState;
  readonly #room: RoomKeeper;
  #queue: Request[] = [];
  #running: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #dirty = false;
  #syncing: Promise<void> | undefined;
  readonly #scratch = new GroupBuffer();
  readonly #zeroFill: ZeroFill;

  constructor(state: LogState, room: RoomKeeper) {
    this.#state = state;
    this.#room = room;
    this.#zeroFill = new ZeroFill(state.options.preallocateBytes, state.options.segmentBytes, state.logger);
    if (state.options.sync === 'interval') {
      this.#timer = setInterval(() => void this.#intervalSync(), state.options.syncIntervalMs);
      this.#timer.unref();
    }
  }

  /** Queues records (written together, contiguous seqs); resolves with the first seq once durable. */
  submit(records: PreparedRecord | readonly PreparedRecord[], signal: AbortSignal | undefined): Promise<number> {
    const state = this.#state;
    if (state.fatal) return Promise.reject(state.fatal);
    if (state.closed) return Promise.reject(new LogClosedError(state.options.dir));
    let bytes: number;
    if (Array.isArray(records)) {
      bytes = 0;
      for (const r of records as readonly PreparedRecord[]) bytes += FRAME_OVERHEAD + r.hLen + r.bLen;
    } else {
      const r = records as PreparedRecord;
      bytes = FRAME_OVERHEAD + r.hLen + r.bLen;
    }
    const request = new Request(records, bytes, Date.now());
    const promise = promiseInto(request);
    if (signal) {
      const { resolve, reject } = request;
      // Once its group is being written the abort is ignored: the append settles as the write does, so a
      // rejection with the abort reason always means "not stored" and a retry cannot duplicate it.
      // One listener per signal however many appends share it (whenAborted): Node warns past 10.
      const done = whenAborted(signal, () => {
        if (request.taken) return;
        request.withdrawn = true;
        reject(signal.reason);
      });
      request.resolve = (n) => {
        done();
        resolve(n);
      };
      request.reject = (e) => {
        done();
        reject(e);
      };
    }
    this.#queue.push(request);
    this.#running ??= this.#run();
    return promise;
  }

  /** Resolves when everything queued so far is written (and synced, per the sync level). */
  async drain(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /**
   * Stops the interval timer, makes everything written durable (every sync level) and writes the active
   * segment's index, so a clean reopen need not scan the segment.
   */
  async close(): Promise<void> {
    await this.drain();
    if (this.#timer) clearInterval(this.#timer);
    await this.#syncing;
    const state = this.#state;
    const fd = state.active.fdIfOpen;
    if (fd === undefined || state.fatal) return;
    if (state.options.sync !== 'always') await fdatasync(fd);
    try {
      await this.#zeroFill.trim(state.active, fd);
    } catch (err) {
      // The zeros stay: the next open cuts them, as after a crash.
      state.logger.warn({ err, dir: state.options.dir }, 'log: could not cut the zero-filled tail at close');
    }
    try {
      await writeActiveIndex(state.active);
    } catch (err) {
      // Only a hint (a full disk, say): without it the next open scans the segment instead.
      state.logger.warn({ err, dir: state.options.dir }, 'log: could not write the index at close');
      await emptyFile(state.active.indexPath).catch(() => undefined);
    }
  }

  /** Rejects everything still queued (a failed fsync, or close with `whenFull: 'block'`). */
  rejectQueued(err: unknown): void {
    const queue = this.#queue;
    this.#queue = [];
    for (const r of queue) r.reject(err);
  }

  async #run(): Promise<void> {
    try {
      while (this.#queue.length > 0) await this.#step();
    } catch (err) {
      // Not a write failure (those are handled in #step): without this the queued appends would never settle.
      this.#state.logger.error({ err, dir: this.#state.options.dir }, 'log: the writer failed unexpectedly');
      this.rejectQueued(err);
    } finally {
      this.#running = undefined;
    }
  }

  async #step(): Promise<void> {
    const state = this.#state;
    const options = state.options;
    if (state.fatal) return this.rejectQueued(state.fatal);
    while (this.#queue.length > 0 && (this.#queue[0] as Request).withdrawn) this.#queue.shift();
    const first = this.#queue[0];
    if (first === undefined) return;
    const seg = state.active;
    if (seg.size > SEGMENT_HEADER_BYTES && seg.size + first.bytes > options.segmentBytes) return this.#roll();
    if (state.bytes + first.bytes > options.maxBytes) return this.#full(first);
    let bytes = 0;
    let n = 0;
    for (const r of this.#queue) {
      if (r.withdrawn) break;
      if (n > 0 && (seg.size + bytes + r.bytes > options.segmentBytes || bytes + r.bytes > GROUP_MAX_BYTES)) break;
      if (n > 0 && state.bytes + bytes + r.bytes > options.maxBytes) break;
      bytes += r.bytes;
      n++;
    }
    const group = this.#queue.splice(0, n);
    for (const r of group) r.taken = true;
    const indexFrom = seg.index.length;
    const fd = seg.fdIfOpen as number;
    const filling = this.#zeroFill.beforeWrite(seg, seg.size + bytes);
    if (filling !== undefined) await filling;
    let written: WrittenGroup;
    const groupFirst = state.nextSeq;
    try {
      written = await writeGroup(fd, seg, group, bytes, state.nextSeq, options.indexIntervalBytes, this.#scratch);
    } catch (err) {
      seg.index.truncate(indexFrom);
      return this.#writeFailed(err, group, fd, seg.size);
    }
    const { firstSeqs, nextSeq: seq, lastIndexed } = written;
    seg.size += bytes;
    seg.endSeq = seq;
    seg.lastIndexedOffset = lastIndexed;
    seg.lastWriteMs = Date.now();
    state.bytes += bytes;
    state.nextSeq = seq;
    if (options.sync === 'always') {
      try {
        // A descriptor opened with O_DSYNC made the write itself durable: one thread-pool hop, not two.
        if (!seg.dsync) await fdatasync(fd);
      } catch (err) {
        return this.#fail(err, group);
      }
    } else this.#dirty = true;
    // An interval sync that failed during this write stopped the log: what it holds is unknown (fsyncgate).
    if (state.fatal) {
      for (const r of group) r.reject(state.fatal);
      return;
    }
    seg.readableSize = seg.size;
    seg.readableEndSeq = seq;
    state.durableSeq = seq;
    try {
      state.tail.add(groupFirst, seq, written.frames);
    } catch (err) {
      // Only a cache: the group is durable and its appends must resolve whatever happened to the copy.
      state.logger.warn({ err, dir: options.dir }, 'log: the tail cache failed; reads go to disk');
      try {
        state.tail.clear();
      } catch {
        // Nothing more to do: reads past the cache go to disk.
      }
    }
    for (let i = 0; i < n; i++) (group[i] as Request).resolve(firstSeqs[i] as number);
    state.notify();
    this.#zeroFill.afterWrite(seg, bytes);
  }

  async #writeFailed(err: unknown, group: Request[], fd: number, size: number): Promise<void> {
    // Cut off whatever part of the group reached the file, so the log ends at its last whole record.
    try {
      await this.#zeroFill.trim(this.#state.active, fd);
      await ftruncate(fd, size);
      // Synced: with O_DSYNC the part written before ENOSPC was already durable, and a power loss must not
      // bring back whole frames of appends that were told they were not stored.
      await fdatasync(fd);
    } catch (truncErr) {
      return this.#fail(truncErr, group);
    }
    if (!isDiskFull(err)) return this.#fail(err, group);
    const full = new LogFullError(`The disk is full (${(err as NodeJS.ErrnoException).code}): append not stored`, {
      cause: err,
    });
    for (const r of group) r.reject(full);
  }

  #fail(err: unknown, group: Request[]): void {
    const state = this.#state;
    state.fatal ??= new LogSyncError(
      `Log ${state.options.dir} stopped: a write or fdatasync failed, so what the disk holds is unknown; reopen the log`,
      { cause: err },
    );
    state.logger.error({ err, dir: state.options.dir }, 'log: write or fdatasync failed; the log stops acknowledging');
    for (const r of group) r.reject(state.fatal);
    this.rejectQueued(state.fatal);
    state.notify();
  }

  async #full(first: Request): Promise<void> {
    const state = this.#state;
    let roomError: unknown;
    try {
      await this.#room.makeRoom(first.bytes);
    } catch (err) {
      // Retention could not delete a segment (EIO, a read-only remount): this append learns why there is no room.
      state.logger.error({ err, dir: state.options.dir }, 'log: retention failed while making room for an append');
      roomError = err;
    }
    if (state.bytes + first.bytes <= state.options.maxBytes) return;
    if (state.options.whenFull === 'reject' || first.bytes + SEGMENT_HEADER_BYTES > state.options.maxBytes) {
      this.#queue.shift();
      first.reject(
        new LogFullError(
          `Log ${state.options.dir} holds ${state.bytes} bytes: maxBytes (${state.options.maxBytes}) reached`,
          roomError === undefined ? undefined : { cause: roomError },
        ),
      );
      return;
    }
    if (state.closed) return this.rejectQueued(new LogClosedError(state.options.dir));
    await state.changed();
  }

  async #roll(): Promise<void> {
    const state = this.#state;
    const old = state.active;
    try {
      await this.#syncing;
      if (state.options.sync !== 'always') await fdatasync(old.fdIfOpen as number);
      // A sealed segment is trusted by its size: its zeros go before the seal.
      await this.#zeroFill.trim(old, old.fdIfOpen as number);
    } catch (err) {
      return this.#fail(err, this.#queue.splice(0));
    }
    try {
      await writeSealedIndex(old);
      const next = await createSegment(state.segDir, state.nextSeq, state.options);
      state.adopt(next);
      state.segments.push(next);
      state.bytes += next.size;
      // The sealed segment's write descriptor now counts against the read descriptors' bound.
      state.fds.touch(old);
      this.#room.afterRoll();
    } catch (err) {
      if (!isDiskFull(err)) return this.#fail(err, this.#queue.splice(0));
      const first = this.#queue.shift();
      first?.reject(new LogFullError('The disk is full: could not start a new segment', { cause: err }));
      return;
    }
    state.notify();
  }

  async #intervalSync(): Promise<void> {
    if (!this.#dirty || this.#syncing || this.#state.fatal) return;
    this.#dirty = false;
    const fd = this.#state.active.fdIfOpen;
    if (fd === undefined) return;
    this.#syncing = fdatasync(fd).then(
      () => undefined,
      (err) => this.#fail(err, []),
    );
    await this.#syncing;
    this.#syncing = undefined;
  }
}
