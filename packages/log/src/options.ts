import { InvalidOptionError, type Logger } from '@q/core';
import { duration, integerAtLeast, nonEmptyString } from '@q/core/internal';
import { MAX_RECORD_BYTES_LIMIT } from './format.js';
import { budgetHooks, type TailCacheBudget } from './tail-cache-budget.js';

/**
 * When an append counts as done. `'always'`: after an `fdatasync` covering it (survives power loss);
 * `{ intervalMs }`: after the write, with an `fdatasync` every `intervalMs` (survives a process crash; a
 * power loss may take the last interval); `'none'`: after the write (page cache only, survives a process
 * crash, not a power loss).
 */
export type SyncMode = 'always' | 'none' | { readonly intervalMs: number };

/** Options of {@link openLog}. */
export interface LogOptions {
  /** The log's directory; created when missing. One process writes it at a time (a `LOCK` file). */
  dir: string;
  /** Durability level of an acknowledged append (see {@link SyncMode}). @default 'always' */
  sync?: SyncMode;
  /** A segment file rolls when it reaches this size (1 KiB to 4 GiB). @default 67108864 (64 MiB) */
  segmentBytes?: number;
  /** Largest record: body plus encoded headers (0 to 1 GiB). @default 16777216 (16 MiB) */
  maxRecordBytes?: number;
  /** One sparse index entry per this many bytes of records (64 to segmentBytes). @default 4096 (segmentBytes if smaller) */
  indexIntervalBytes?: number;
  /** What `open` does with a bad record followed by valid ones: fail, or cut the last segment there. @default 'fail' */
  onCorruption?: 'fail' | 'truncate';
  /**
   * Bound on the bytes of all segment files, at least 2 × `segmentBytes`. Segments no cursor still needs
   * are deleted to stay under it; when that is not enough, `whenFull` decides. @default Infinity
   */
  maxBytes?: number;
  /** Sealed segments whose last record is older than this are deleted, cursors or not. @default Infinity */
  maxAgeMs?: number;
  /** An append that would take the log past `maxBytes`: reject it with `LogFullError`, or wait for room. @default 'reject' */
  whenFull?: 'reject' | 'block';
  /**
   * With `sync: 'always'`, how far ahead of the writer the active segment is kept zero-filled (0, or
   * 4 KiB to `segmentBytes`): small synced appends then overwrite blocks already on disk instead of
   * growing the file, which spares a journal commit per group (about a third of a small group's time on
   * the machine the benchmarks run on). Filled only behind groups of up to 1/16 of it, so large writes
   * do not pay twice the bandwidth; the zeros are cut when a segment is sealed or the log closes, and
   * recovery cuts them after a crash. The disk holds up to this much more than `maxBytes` counts.
   * Ignored with other sync levels. @default 1048576 (1 MiB), capped at `segmentBytes` (0 below 4 KiB)
   */
  preallocateBytes?: number;
  /**
   * Bytes of the newest groups kept in memory, as written, so a reader that keeps up with the writer reads
   * them without a disk read. Kept only while some read has reached them. 0 turns it off.
   * @default 4194304 (4 MiB)
   */
  tailCacheBytes?: number;
  /**
   * Memory shared with other logs' tail caches: all logs given the same budget hold at most its
   * `limitBytes` of cached groups together, each still at most its own `tailCacheBytes`. Without it,
   * each log's cache is bounded by `tailCacheBytes` alone, so a process with many logs that keep up can
   * hold that much per log.
   * @default none (each log bounded by its own `tailCacheBytes` only)
   */
  tailCacheBudget?: TailCacheBudget;
  /** Where recovery reports and failures go (fields first, message second). @default consoleLogger */
  logger?: Logger;
}

/** Options after validation, defaults filled in. */
export interface ResolvedLogOptions {
  readonly dir: string;
  readonly sync: 'always' | 'none' | 'interval';
  readonly syncIntervalMs: number;
  readonly segmentBytes: number;
  readonly maxRecordBytes: number;
  readonly indexIntervalBytes: number;
  readonly onCorruption: 'fail' | 'truncate';
  readonly maxBytes: number;
  readonly maxAgeMs: number;
  readonly whenFull: 'reject' | 'block';
  /** 0 unless `sync` is `'always'`. */
  readonly preallocateBytes: number;
  readonly tailCacheBytes: number;
  readonly tailCacheBudget: TailCacheBudget | undefined;
  readonly logger: Logger | undefined;
}

const MIB = 1024 * 1024;

/** Validates {@link LogOptions}; throws `InvalidOptionError` naming the option and its range. */
export function resolveLogOptions(options: LogOptions): ResolvedLogOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
  const dir = nonEmptyString('dir', options.dir);
  let sync: ResolvedLogOptions['sync'];
  let syncIntervalMs = 0;
  const s = options.sync ?? 'always';
  if (s === 'always' || s === 'none') sync = s;
  else if (typeof s === 'object' && s !== null) {
    sync = 'interval';
    syncIntervalMs = duration('sync.intervalMs', s.intervalMs, 1);
  } else throw new InvalidOptionError('sync', s, "'always', 'none' or { intervalMs }");
  const segmentBytes = integerAtLeast('segmentBytes', options.segmentBytes ?? 64 * MIB, 1024, 2 ** 32);
  const maxRecordBytes = integerAtLeast(
    'maxRecordBytes',
    options.maxRecordBytes ?? 16 * MIB,
    0,
    MAX_RECORD_BYTES_LIMIT,
  );
  const indexIntervalBytes = integerAtLeast(
    'indexIntervalBytes',
    options.indexIntervalBytes ?? Math.min(4096, segmentBytes),
    64,
    segmentBytes,
  );
  const onCorruption = options.onCorruption ?? 'fail';
  if (onCorruption !== 'fail' && onCorruption !== 'truncate')
    throw new InvalidOptionError('onCorruption', onCorruption, "'fail' or 'truncate'");
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  if (
    maxBytes !== Number.POSITIVE_INFINITY &&
    (typeof maxBytes !== 'number' || !Number.isInteger(maxBytes) || maxBytes < 2 * segmentBytes)
  )
    throw new InvalidOptionError(
      'maxBytes',
      maxBytes,
      `an integer >= 2 × segmentBytes (${2 * segmentBytes}), or Infinity`,
    );
  const maxAgeMs = options.maxAgeMs ?? Number.POSITIVE_INFINITY;
  if (typeof maxAgeMs !== 'number' || Number.isNaN(maxAgeMs) || maxAgeMs < 1)
    throw new InvalidOptionError('maxAgeMs', maxAgeMs, 'a number of milliseconds >= 1, or Infinity');
  const whenFull = options.whenFull ?? 'reject';
  if (whenFull !== 'reject' && whenFull !== 'block')
    throw new InvalidOptionError('whenFull', whenFull, "'reject' or 'block'");
  const preallocate = options.preallocateBytes ?? (segmentBytes >= 4096 ? Math.min(MIB, segmentBytes) : 0);
  if (
    preallocate !== 0 &&
    (typeof preallocate !== 'number' ||
      !Number.isInteger(preallocate) ||
      preallocate < 4096 ||
      preallocate > segmentBytes)
  )
    throw new InvalidOptionError(
      'preallocateBytes',
      preallocate,
      `0, or an integer from 4096 to segmentBytes (${segmentBytes})`,
    );
  const tailCacheBytes = options.tailCacheBytes ?? 4 * MIB;
  if (typeof tailCacheBytes !== 'number' || !Number.isSafeInteger(tailCacheBytes) || tailCacheBytes < 0)
    throw new InvalidOptionError('tailCacheBytes', tailCacheBytes, 'an integer >= 0');
  const tailCacheBudget = options.tailCacheBudget;
  if (tailCacheBudget !== undefined && !budgetHooks.is(tailCacheBudget))
    throw new InvalidOptionError('tailCacheBudget', tailCacheBudget, 'a TailCacheBudget');
  return {
    dir,
    sync,
    syncIntervalMs,
    segmentBytes,
    maxRecordBytes,
    indexIntervalBytes,
    onCorruption,
    maxBytes,
    maxAgeMs,
    whenFull,
    preallocateBytes: sync === 'always' ? preallocate : 0,
    tailCacheBytes,
    tailCacheBudget,
    logger: options.logger,
  };
}
