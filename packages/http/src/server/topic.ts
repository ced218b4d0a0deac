import { join } from 'node:path';
import type { Logger } from '@q/core';
import { HttpError } from '@q/core/internal';
import { type AppendInput, openLog, type SegmentLog, type TailCacheBudget } from '@q/log';
import { HttpDeliverer } from '../deliverer/http-deliverer.js';
import type { DeliveryItem, EndpointState } from '../delivery/types.js';
import type { TopicDeliveryOptions } from './options.js';

/** A topic's name: what `dir/topics/<topic>` and the ids `<topic>_<seq>` are made of. */
export const TOPIC_NAME = /^[A-Za-z0-9_-]{1,100}$/;

/** The topic logs' `maxRecordBytes` (the @q/log default, named so requests are checked against it first). */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

/** What every topic of a server opens with. */
export interface TopicSetup {
  /** How its deliverer delivers. */
  readonly delivery: TopicDeliveryOptions;
  /** Shared by every topic's log. */
  readonly tailCacheBudget: TailCacheBudget;
  readonly logger: Logger;
}

/** A replay's range, as started. */
export interface StartedReplay {
  readonly from: number;
  readonly to: number;
}

/**
 * One topic of the server: its log (sync 'always', so an append resolves once fdatasync'd) and the
 * deliverer that pushes its records to their `q-url`, with dead letters in a log beside it.
 */
export class Topic {
  readonly name: string;
  readonly log: SegmentLog;
  readonly deliverer: HttpDeliverer;
  /** Records appended since this process opened the topic. */
  accepted = 0;
  readonly #logger: Logger;
  /** Replays running in the background, aborted by close. */
  readonly #replays = new Set<{ controller: AbortController; done: Promise<unknown> }>();

  private constructor(name: string, log: SegmentLog, deliverer: HttpDeliverer, logger: Logger) {
    this.name = name;
    this.log = log;
    this.deliverer = deliverer;
    this.#logger = logger;
  }

  /**
   * Opens (or creates) the topic under `topicsDir` and starts its delivery at the committed cursor:
   * records accepted before a crash or stop are delivered without waiting for a new one.
   */
  static async open(topicsDir: string, name: string, setup: TopicSetup): Promise<Topic> {
    const { delivery, tailCacheBudget, logger } = setup;
    const dir = join(topicsDir, name);
    const log = await openLog({
      dir: join(dir, 'log'),
      sync: 'always',
      maxRecordBytes: MAX_RECORD_BYTES,
      tailCacheBudget,
      logger,
    });
    let deliverer: HttpDeliverer | undefined;
    try {
      deliverer = new HttpDeliverer({
        log,
        idPrefix: name,
        engine: { ...delivery, logger },
        deadLetterDir: join(dir, 'dead-letter'),
        parkDir: join(dir, 'parked'),
        logger,
      });
      // An EventEmitter throws an 'error' nobody listens to: the server would die of one delivery.
      deliverer.on('error', (err: unknown) => logger.error({ err, topic: name }, 'delivery failed'));
      deliverer.on('dead-letter', (item: DeliveryItem, result: { reason: string; cause: string }) =>
        logger.warn(
          { topic: name, id: item.id, url: item.url, reason: result.reason, cause: result.cause },
          'dead-lettered',
        ),
      );
      deliverer.on('endpoint', (state: EndpointState) =>
        (state.circuit === 'closed' ? logger.info : logger.warn)(
          { topic: name, url: state.url, circuit: state.circuit, consecutiveFailures: state.consecutiveFailures },
          `endpoint ${state.circuit}`,
        ),
      );
      await deliverer.start();
      return new Topic(name, log, deliverer, logger);
    } catch (error) {
      await deliverer?.close({ timeoutMs: 0 }).catch(() => undefined);
      await log.close().catch(() => undefined);
      throw error;
    }
  }

  /** Appends one record; resolves with its seq once it is durable. */
  async append(input: AppendInput): Promise<number> {
    const seq = await this.log.append(input);
    this.accepted++;
    return seq;
  }

  /** The seq of the last record, -1 for an empty log. */
  lastSeq(): number {
    return this.log.nextSeq - 1;
  }

  /**
   * Starts a replay of [from, to] in the background (on the deliverer's own temporary cursor: live
   * delivery goes on) and returns its range once started.
   * @param to @default the last seq now
   * @throws {HttpError} 400 `replay_range` for a range not in the log: a replay never skips.
   */
  replay(from: number, to?: number, url?: string): StartedReplay {
    const last = this.lastSeq();
    const end = to ?? last;
    const problem =
      from > last
        ? `from ${from} is past the end (the last seq is ${last})`
        : from < this.log.firstSeq
          ? `from ${from} is before the first seq still stored (${this.log.firstSeq})`
          : end > last
            ? `to ${end} is past the end (the last seq is ${last})`
            : end < from
              ? `to ${end} is before from ${from}`
              : undefined;
    if (problem !== undefined)
      throw new HttpError(400, 'replay_range', `topic ${this.name}: ${problem}`, {
        details: { from, to: end, firstSeq: this.log.firstSeq, lastSeq: last },
      });
    const controller = new AbortController();
    const run = this.deliverer.replay({
      from,
      to: end,
      signal: controller.signal,
      ...(url === undefined ? {} : { url }),
    });
    const entry = {
      controller,
      done: run.then(
        (result) => this.#logger.info({ topic: this.name, ...result }, 'replay finished'),
        (err: unknown) => {
          if (!controller.signal.aborted) this.#logger.error({ err, topic: this.name, from, to: end }, 'replay failed');
        },
      ),
    };
    this.#replays.add(entry);
    void entry.done.finally(() => this.#replays.delete(entry));
    this.#logger.info({ topic: this.name, from, to: end, url }, 'replay started');
    return { from, to: end };
  }

  /** Stops replays and delivery (attempts under way get `timeoutMs`), then closes the log. */
  async close(timeoutMs: number): Promise<void> {
    for (const replay of this.#replays) replay.controller.abort(new Error('the server is closing'));
    try {
      await this.deliverer.close({ timeoutMs });
      await Promise.all([...this.#replays].map((r) => r.done));
    } finally {
      await this.log.close();
    }
  }
}
