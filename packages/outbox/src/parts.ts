import { MAX_RECORD_BYTES_LIMIT, openLog, type SegmentLog } from '@q/log';
import { DEAD_LETTER_ROOM_BYTES, DeadLetters } from './dead-letter.js';
import { DirectPath } from './direct-path.js';
import type { Reporter } from './events.js';
import { Forwarder } from './forwarder.js';
import type { RoomWait } from './full.js';
import { IdempotencyIndex } from './idempotency.js';
import { LogWriter } from './log-writer.js';
import type { ResolvedOutboxOptions } from './options.js';
import { loadOutboxId } from './outbox-id-file.js';
import { SequenceCounter } from './sequence.js';
import { SinkLane } from './sink-batch.js';
import { SinkHealth } from './sink-health.js';
import { BacklogMeter, OutboxCounters } from './stats.js';
import { TornBatches } from './torn.js';

/** Everything an open outbox is made of. */
export interface OutboxParts {
  readonly id: string;
  readonly log: SegmentLog;
  readonly counter: SequenceCounter | undefined;
  readonly writer: LogWriter;
  readonly forwarder: Forwarder;
  readonly direct: DirectPath | undefined;
  readonly health: SinkHealth;
  readonly deadLetters: DeadLetters;
  readonly idempotency: IdempotencyIndex;
  readonly counters: OutboxCounters;
  readonly backlog: BacklogMeter;
  readonly room: RoomWait;
}

function sinkName(options: ResolvedOutboxOptions): string {
  try {
    return String(options.sink.name());
  } catch {
    return 'sink';
  }
}

/**
 * Opens an outbox's directory: the log first (its `LOCK` makes this process the only one using the
 * directory, `OUTBOX` and `SEQ` included), then the id, the sequence counter, the idempotency keys still
 * in the log, and starts the forwarder from the `forward` cursor, so a backlog left by an earlier run is
 * forwarded without being asked.
 */
export async function openParts(
  options: ResolvedOutboxOptions,
  reporter: Reporter,
  closing: AbortSignal,
): Promise<OutboxParts> {
  const { dir, sync, segmentBytes, maxRecordBytes, maxBytes } = options;
  const logger = reporter.logger;
  const log = await openLog({ dir, sync, segmentBytes, maxRecordBytes, maxBytes, whenFull: 'reject', logger });
  try {
    const id = await loadOutboxId(dir, options.id);
    // Ids must never repeat, not even after a power loss. The log's seqs do only with sync 'always': with
    // an interval (or none) a power cut can lose records the forwarder already pushed, and the log would
    // hand their seqs out again, below the sink's high-water mark. The SEQ reservation is always fsync'd.
    const counter = await SequenceCounter.open(
      dir,
      log.nextSeq,
      options.mode === 'direct-first' || options.sync !== 'always',
    );
    // Before anything is appended: a torn batch is found only while it is the log's last records. Whatever
    // this open's sync: only a batch written under sync 'always' carries q-outbox-batch.
    const torn = await TornBatches.open(dir, log);
    const idempotency = new IdempotencyIndex(options.idempotencyWindow);
    await idempotency.rebuild(log, id, torn);
    const counters = new OutboxCounters();
    const backlog = new BacklogMeter();
    const lane = new SinkLane(options.sink);
    const health = new SinkHealth(reporter, sinkName(options));
    const deadLetters = new DeadLetters(dir, {
      sync,
      maxRecordBytes: Math.min(maxRecordBytes + DEAD_LETTER_ROOM_BYTES, MAX_RECORD_BYTES_LIMIT),
      logger,
    });
    const room: RoomWait = { dir, whenFull: options.whenFull, maxBytes, closing };
    let forwarder: Forwarder | undefined;
    let direct: DirectPath | undefined;
    const writer = new LogWriter(log, counter, backlog, maxBytes, () => forwarder?.wake());
    forwarder = await Forwarder.start({
      log,
      outboxId: id,
      options,
      lane,
      health,
      reporter,
      deadLetters,
      counters,
      backlog,
      torn,
      drained: () => direct?.drained(),
    });
    if (options.mode === 'direct-first') {
      const parts = { outboxId: id, options, lane, health, reporter, counters, writer, room };
      direct = new DirectPath(parts, forwarder.backlog > 0 ? 'log' : 'direct');
    }
    return {
      id,
      log,
      counter,
      writer,
      forwarder,
      direct,
      health,
      deadLetters,
      idempotency,
      counters,
      backlog,
      room,
    };
  } catch (err) {
    await log.close().catch(() => undefined);
    throw err;
  }
}
