import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@q/core';
import { HttpError } from '@q/core/internal';
import type { TailCacheBudget } from '@q/log';
import type { TopicDeliveryOptions } from './options.js';
import { TOPIC_NAME, Topic, type TopicSetup } from './topic.js';

/**
 * The server's topics, by name: each opened once (concurrent first pushes share the opening), all
 * found under `dir/topics` opened at start so their backlog is delivered without a new push.
 */
export class TopicRegistry {
  readonly #dir: string;
  readonly #setup: TopicSetup;
  readonly #maxTopics: number;
  readonly #logger: Logger;
  /** Opening or open; a failed opening is removed so a later push tries again. */
  readonly #topics = new Map<string, Promise<Topic>>();
  readonly #open = new Map<string, Topic>();
  /** Topics found at start that could not be opened, with why (a push tries again). */
  readonly #failed = new Map<string, string>();
  #closed = false;

  constructor(options: {
    dir: string;
    delivery: TopicDeliveryOptions;
    maxTopics: number;
    /** Shared by every topic's log. */
    tailCacheBudget: TailCacheBudget;
    logger: Logger;
  }) {
    this.#dir = join(options.dir, 'topics');
    this.#maxTopics = options.maxTopics;
    this.#logger = options.logger;
    this.#setup = { delivery: options.delivery, tailCacheBudget: options.tailCacheBudget, logger: options.logger };
  }

  /**
   * Opens every topic directory found, and resumes its delivery. Resolves with the names of those opened;
   * one that fails is logged and listed in {@link TopicRegistry.failed}: the others are served.
   */
  async openExisting(): Promise<string[]> {
    await fsp.mkdir(this.#dir, { recursive: true });
    const entries = await fsp.readdir(this.#dir, { withFileTypes: true });
    const names = entries.filter((e) => e.isDirectory() && TOPIC_NAME.test(e.name)).map((e) => e.name);
    for (const e of entries)
      if (!names.includes(e.name)) this.#logger.warn({ entry: join(this.#dir, e.name) }, 'not a topic: left alone');
    // One at a time: each recovery reads its log's last segment, and a start is not the hot path.
    const opened: string[] = [];
    for (const name of names) {
      try {
        await this.obtain(name);
        opened.push(name);
      } catch (err) {
        this.#logger.error({ err, topic: name }, 'topic could not be opened: the others are served');
      }
    }
    return opened;
  }

  /** Topics that could not be opened (at start or on a push since), by name, with why. */
  failed(): ReadonlyMap<string, string> {
    return this.#failed;
  }

  /** The open topic `name`, or undefined (not created, or still opening). */
  get(name: string): Topic | undefined {
    return this.#open.get(name);
  }

  /**
   * @throws {HttpError} 400 `invalid_topic` unless `name` is a topic name.
   */
  checkName(name: string): void {
    if (!TOPIC_NAME.test(name)) throw invalidTopic(name);
  }

  /**
   * The open topic `name`.
   * @throws {HttpError} 400 for a bad name, 404 `unknown_topic` when no push created it.
   */
  known(name: string): Topic {
    if (!TOPIC_NAME.test(name)) throw invalidTopic(name);
    const topic = this.#open.get(name);
    if (topic === undefined)
      throw new HttpError(404, 'unknown_topic', `no topic ${name}: a push creates it`, { details: { topic: name } });
    return topic;
  }

  /**
   * The topic `name`, opened and created if need be.
   * @throws {HttpError} 400 for a bad name, 507 past `maxTopics`, 503 once closing, 503
   *   `topic_unavailable` naming the cause when it cannot be opened.
   */
  obtain(name: string): Promise<Topic> {
    const known = this.#topics.get(name);
    if (known !== undefined) return known;
    if (!TOPIC_NAME.test(name)) return Promise.reject(invalidTopic(name));
    if (this.#closed) return Promise.reject(closingError());
    if (this.#topics.size >= this.#maxTopics)
      return Promise.reject(
        new HttpError(507, 'too_many_topics', `the server has its ${this.#maxTopics} topics: no more are created`, {
          details: { limit: this.#maxTopics },
        }),
      );
    const opening = Topic.open(this.#dir, name, this.#setup).then(
      (topic) => {
        this.#open.set(name, topic);
        this.#failed.delete(name);
        this.#logger.info({ topic: name, nextSeq: topic.log.nextSeq }, 'topic open, delivery started');
        return topic;
      },
      (error: unknown) => {
        this.#topics.delete(name);
        if (error instanceof HttpError) throw error;
        const cause = error instanceof Error ? error.message : String(error);
        this.#failed.set(name, cause);
        throw new HttpError(503, 'topic_unavailable', `topic ${name} could not be opened: ${cause}`, {
          details: { topic: name },
          retryAfterSeconds: 5,
        });
      },
    );
    this.#topics.set(name, opening);
    return opening;
  }

  /** The open topics. */
  topics(): Topic[] {
    return [...this.#open.values()];
  }

  /** Closes every topic (those still opening once open), each within `timeoutMs`, all at once. */
  async close(timeoutMs: number): Promise<void> {
    this.#closed = true;
    const results = await Promise.allSettled(
      [...this.#topics.values()].map(async (opening) => {
        const topic = await opening.catch(() => undefined);
        if (topic === undefined) return;
        try {
          await topic.close(timeoutMs);
        } catch (err) {
          this.#logger.error({ err, topic: topic.name }, 'closing the topic failed');
          throw err;
        }
      }),
    );
    this.#open.clear();
    const failed = results.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }
}

/** 400 `invalid_topic`. */
export function invalidTopic(name: unknown): HttpError {
  return new HttpError(
    400,
    'invalid_topic',
    `topic must be 1 to 100 of A-Z a-z 0-9 _ - (got ${JSON.stringify(String(name).slice(0, 120))})`,
    { details: { field: 'topic' } },
  );
}

/** 503 `closing`, with Retry-After. */
export function closingError(): HttpError {
  return new HttpError(503, 'closing', 'the server is shutting down: nothing was stored, retry later', {
    retryAfterSeconds: 1,
  });
}
