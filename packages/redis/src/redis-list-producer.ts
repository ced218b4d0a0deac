import { randomBytes } from 'node:crypto';
import {
  BulkExecutor,
  consoleLogger,
  InvalidOptionError,
  integerAtLeast,
  type Logger,
  nonEmptyString,
  type Outcome,
  type ProduceListener,
  type Producer,
  type ProducerFactory,
  sleep,
} from '@q/core';
import type { Cluster, Redis } from 'ioredis';
import { type QueueKeys, queueKeys } from './keys.js';
import { type ScriptedRedis, withScripts } from './scripts.js';
import { SourceHealth, untilAborted } from './source-health.js';
import { assertRedisVersion } from './version.js';

/** How messages leave the list. */
export type DeliveryMode = 'at-most-once' | 'at-least-once';

/** A message of an at-least-once producer: its body and how often it was delivered. */
export interface RedisMessage<B extends string | Buffer = string> {
  readonly body: B;
  /**
   * This delivery's id: unique within the queue and never handed out again (settlement uses it, so
   * a late settle can only touch the delivery it names).
   */
  readonly id: number;
  /** 1 on the first delivery; more after a crash or a hand-back. */
  readonly deliveries: number;
}

/** Options of {@link redisListProducerFactory}. */
export interface RedisListProducerOptions {
  /** The client (`new Redis(...)` or `new Cluster(...)`); each producer also opens one duplicate for blocking reads. */
  redis: Redis | Cluster;
  /** The list. Pushers `RPUSH` to it; producers take from its head. */
  key: string;
  /**
   * `at-most-once` is go-zero rq's semantics: messages leave Redis when popped, so a crash loses
   * what the process held. `at-least-once` keeps each message in the consumer's in-flight record
   * until the queue settles it; a consumer that dies is detected by its lease and its messages go
   * back to the list.
   * @default "at-least-once"
   */
  mode?: DeliveryMode;
  /**
   * Most messages taken per call (`LPOP key n`, or the claim script).
   * @default 256
   */
  batchSize?: number;
  /**
   * How long one blocking wait on an empty list lasts (`BLMPOP`/`BLMOVE`), in milliseconds. Stop
   * waits at most this long for a producer blocked in such a wait.
   * @default 1000
   */
  blockTimeoutMs?: number;
  /**
   * Return Buffers instead of strings.
   * @default false
   */
  buffers?: boolean;
  /**
   * At-least-once: how long a consumer's lease lives without a heartbeat, in milliseconds. Its
   * messages go back to the list this long after it dies.
   * @default 30000
   */
  leaseMs?: number;
  /**
   * At-least-once: a message about to be delivered more often than this goes to the dead-letter list
   * (`<tag>:q:dead`) instead. 0 means no limit.
   * @default 5
   */
  maxDeliveries?: number;
  /**
   * At-least-once: acknowledgements and hand-backs are sent in batches of up to this many, at least
   * every `settleIntervalMs`.
   * @default 512
   */
  settleBatch?: number;
  /** @default 10 */
  settleIntervalMs?: number;
  /**
   * Where connection problems are logged (at most once a second). Message bodies are never logged.
   * @default consoleLogger
   */
  logger?: Logger;
}

interface Resolved {
  redis: Redis | Cluster;
  keys: QueueKeys;
  mode: DeliveryMode;
  batchSize: number;
  blockTimeoutMs: number;
  buffers: boolean;
  leaseMs: number;
  maxDeliveries: number;
  settleBatch: number;
  settleIntervalMs: number;
  logger: Logger;
}

/**
 * A `ProducerFactory` for {@link Queue} that reads a Redis list. Each call makes a producer with its
 * own blocking connection; see {@link RedisListProducerOptions} for the two modes.
 *
 * ```ts
 * const queue = new Queue(
 *   redisListProducerFactory({ redis, key: 'jobs', mode: 'at-least-once' }),
 *   () => ({ consume: async (m) => handle(m.body) }),
 * );
 * ```
 *
 * @throws {InvalidOptionError} synchronously for bad options. A server too old for the mode is
 *   reported by each factory call as {@link RedisVersionError}.
 */
export function redisListProducerFactory(
  options: RedisListProducerOptions & { mode: 'at-most-once'; buffers: true },
): ProducerFactory<Buffer>;
export function redisListProducerFactory(
  options: RedisListProducerOptions & { mode: 'at-most-once'; buffers?: false },
): ProducerFactory<string>;
export function redisListProducerFactory(
  options: RedisListProducerOptions & { mode?: 'at-least-once'; buffers: true },
): ProducerFactory<RedisMessage<Buffer>>;
export function redisListProducerFactory(
  options: RedisListProducerOptions & { mode?: 'at-least-once'; buffers?: false },
): ProducerFactory<RedisMessage<string>>;
export function redisListProducerFactory(
  options: RedisListProducerOptions,
): ProducerFactory<string | Buffer | RedisMessage<string | Buffer>>;
export function redisListProducerFactory(options: RedisListProducerOptions): ProducerFactory<unknown> {
  const o = resolve(options);
  return async () => {
    await assertRedisVersion(o.redis, o.mode);
    return o.mode === 'at-most-once' ? new AtMostOnceProducer(o) : new AtLeastOnceProducer(o);
  };
}

function resolve(options: RedisListProducerOptions): Resolved {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', options, 'an object');
  const { redis } = options;
  if (redis === null || typeof redis !== 'object' || typeof (redis as Redis).duplicate !== 'function') {
    throw new InvalidOptionError('redis', redis, 'an ioredis Redis or Cluster client');
  }
  nonEmptyString('key', options.key);
  const mode = options.mode ?? 'at-least-once';
  if (mode !== 'at-most-once' && mode !== 'at-least-once') {
    throw new InvalidOptionError('mode', mode, '"at-most-once" or "at-least-once"');
  }
  const leaseMs = integerAtLeast('leaseMs', options.leaseMs ?? 30_000, 100);
  return {
    redis,
    keys: queueKeys(options.key),
    mode,
    batchSize: integerAtLeast('batchSize', options.batchSize ?? 256, 1),
    blockTimeoutMs: integerAtLeast('blockTimeoutMs', options.blockTimeoutMs ?? 1000, 1),
    buffers: options.buffers ?? false,
    leaseMs,
    maxDeliveries: integerAtLeast('maxDeliveries', options.maxDeliveries ?? 5, 0),
    settleBatch: integerAtLeast('settleBatch', options.settleBatch ?? 512, 1),
    settleIntervalMs: integerAtLeast('settleIntervalMs', options.settleIntervalMs ?? 10, 1),
    logger: options.logger ?? consoleLogger,
  };
}

/**
 * Pause/resume from the connection's state: the client losing its connection pauses the producer,
 * the client being ready again resumes it. Returns the function that stops watching.
 */
function watchConnection(redis: Redis | Cluster, health: SourceHealth, blocking: Redis | Cluster): () => void {
  // The blocking connection is ours: its errors are the source's state, not an unhandled event.
  blocking.on('error', () => health.down());
  const down = (): void => health.down();
  const up = (): void => health.ok();
  redis.on('close', down);
  redis.on('ready', up);
  return () => {
    redis.off('close', down);
    redis.off('ready', up);
  };
}

/** go-zero rq's producer, batched: `LPOP key n` while there is data, `BLMPOP` while there is none. */
class AtMostOnceProducer implements Producer<string | Buffer> {
  readonly #o: Resolved;
  readonly #blocking: Redis | Cluster;
  readonly #health: SourceHealth;
  readonly #unwatch: () => void;

  constructor(o: Resolved) {
    this.#o = o;
    this.#blocking = o.redis.duplicate();
    this.#health = new SourceHealth(o.logger, `reading ${o.keys.list}`);
    this.#unwatch = watchConnection(o.redis, this.#health, this.#blocking);
  }

  addListener(listener: ProduceListener): void {
    this.#health.listener = listener;
  }

  async produce(signal: AbortSignal): Promise<(string | Buffer)[] | undefined> {
    const { redis, keys, batchSize, blockTimeoutMs, buffers } = this.#o;
    try {
      const pop = buffers ? redis.lpopBuffer(keys.list, batchSize) : redis.lpop(keys.list, batchSize);
      const popped = await untilAborted(pop as Promise<(string | Buffer)[] | null>, signal);
      if (popped === undefined) {
        // Stopped while the pop was in flight: whatever it still brings goes back to the head.
        void pop.then((late) => this.#giveBack(late as (string | Buffer)[] | null)).catch(() => {});
        return undefined;
      }
      this.#health.ok();
      if (popped !== null && popped.length > 0) return popped;
      if (signal.aborted) return undefined;
      const args = [blockTimeoutMs / 1000, 1, keys.list, 'LEFT', 'COUNT', batchSize] as const;
      const reply = (await (buffers
        ? this.#blocking.callBuffer('BLMPOP', ...args)
        : this.#blocking.call('BLMPOP', ...args))) as [unknown, (string | Buffer)[]] | null;
      this.#health.ok();
      return reply === null ? undefined : reply[1];
    } catch (error) {
      if (!signal.aborted) await sleep(this.#health.failed(error), signal);
      return undefined;
    }
  }

  /**
   * At-most-once cannot take a message back from the handler, but what the queue hands back unconsumed
   * at stop goes back to the head of the list, best effort.
   */
  settle(message: string | Buffer, outcome: Outcome): Promise<void> | undefined {
    if (outcome.type !== 'nacked') return undefined;
    return this.#giveBack([message]);
  }

  async close(): Promise<void> {
    this.#unwatch();
    this.#blocking.disconnect();
  }

  async #giveBack(messages: (string | Buffer)[] | null): Promise<void> {
    if (messages === null || messages.length === 0) return;
    await this.#o.redis.lpush(this.#o.keys.list, ...[...messages].reverse());
  }
}

const ACK = 0;
const REQUEUE = 1;
const UNDO = 2;

/**
 * At-least-once: a Lua script moves messages into this consumer's in-flight hash; settling removes
 * them (acks) or hands them back (nacks), in batches. A heartbeat keeps the consumer's lease alive;
 * every instance returns the messages of consumers whose lease expired.
 */
class AtLeastOnceProducer implements Producer<RedisMessage<string | Buffer>> {
  readonly id = randomBytes(6).toString('hex');
  readonly #o: Resolved;
  readonly #redis: (Redis | Cluster) & ScriptedRedis;
  readonly #blocking: Redis | Cluster;
  readonly #health: SourceHealth;
  readonly #settles: BulkExecutor<number>;
  readonly #heartbeat: NodeJS.Timeout;
  readonly #inflight: string;
  readonly #lease: string;
  readonly #staging: string;
  readonly #unwatch: () => void;
  #beats = 0;
  /** The heartbeat in progress, so close() does not race it (a late SADD would re-register us). */
  #beating: Promise<void> | undefined;
  /** Settles that could not be sent (Redis down); sent again before the next claim. */
  #unsent: number[] = [];
  /** The number of this consumer's latest claim (its nonce): a claim that failed is sent again with it. */
  #nonce = 0;
  /** Whether the latest claim failed: it may have run without its reply reaching us, so it is repeated as is. */
  #repeatClaim = false;

  constructor(o: Resolved) {
    this.#o = o;
    this.#redis = withScripts(o.redis);
    this.#blocking = o.redis.duplicate();
    this.#health = new SourceHealth(o.logger, `reading ${o.keys.list}`);
    this.#inflight = o.keys.inflight(this.id);
    this.#lease = o.keys.lease(this.id);
    this.#staging = o.keys.staging(this.id);
    this.#unwatch = watchConnection(o.redis, this.#health, this.#blocking);
    this.#settles = new BulkExecutor<number>((tasks) => this.#flushSettles(tasks), {
      bulkTasks: o.settleBatch,
      flushIntervalMs: o.settleIntervalMs,
      onError: (error, tasks) => {
        this.#health.failed(error);
        this.#unsent.push(...tasks);
      },
    });
    const beatMs = Math.max(50, Math.floor(o.leaseMs / 3));
    this.#heartbeat = setInterval(() => {
      this.#beating ??= this.#beat().finally(() => {
        this.#beating = undefined;
      });
    }, beatMs);
    this.#heartbeat.unref();
    void this.#recoverOthers();
  }

  addListener(listener: ProduceListener): void {
    this.#health.listener = listener;
  }

  async produce(signal: AbortSignal): Promise<RedisMessage<string | Buffer>[] | undefined> {
    try {
      if (this.#unsent.length > 0) {
        const unsent = this.#unsent;
        this.#unsent = [];
        await this.#flushSettles(unsent);
      }
      const claimed = await this.#claim();
      this.#health.ok();
      if (claimed.length > 0 || signal.aborted) return claimed.length > 0 ? claimed : undefined;
      // Nothing there: wait on the list. A message moved here sits in our staging list, which the
      // next claim empties first and which recovery returns if we die before that.
      const { keys, blockTimeoutMs } = this.#o;
      const moved = await this.#blocking.blmove(keys.list, this.#staging, 'LEFT', 'RIGHT', blockTimeoutMs / 1000);
      if (moved === null || signal.aborted) return undefined;
      const more = await this.#claim();
      return more.length > 0 ? more : undefined;
    } catch (error) {
      if (!signal.aborted) await sleep(this.#health.failed(error), signal);
      return undefined;
    }
  }

  settle(message: RedisMessage<string | Buffer>, outcome: Outcome): Promise<void> | undefined {
    // consumed / dead-lettered: done. failed: back for another delivery (counted; maxDeliveries ends
    // it). nacked: back unprocessed (not counted).
    const kind =
      outcome.type === 'consumed' || outcome.type === 'dead-lettered'
        ? ACK
        : outcome.type === 'failed'
          ? REQUEUE
          : UNDO;
    return this.#settles.add(message.id * 4 + kind);
  }

  async close(): Promise<void> {
    clearInterval(this.#heartbeat);
    this.#unwatch();
    await this.#beating;
    try {
      await this.#settles.close();
      if (this.#unsent.length > 0) await this.#flushSettles(this.#unsent.splice(0));
      // Anything still held (a staged message, settles that failed) goes back now, not after the lease.
      const { keys } = this.#o;
      await this.#redis.qRecover(
        this.#lease,
        this.#inflight,
        this.#staging,
        keys.retry,
        keys.consumers,
        keys.claim(this.id),
        this.id,
        'force',
      );
    } catch (error) {
      this.#health.failed(error);
    } finally {
      this.#blocking.disconnect();
    }
  }

  async #claim(): Promise<RedisMessage<string | Buffer>[]> {
    const { keys, batchSize, leaseMs, maxDeliveries, buffers } = this.#o;
    const args = [
      keys.list,
      keys.retry,
      this.#inflight,
      this.#lease,
      keys.consumers,
      this.#staging,
      keys.dead,
      keys.ids,
      keys.claim(this.id),
      batchSize,
      leaseMs,
      this.id,
      maxDeliveries,
      this.#repeatClaim ? this.#nonce : ++this.#nonce,
    ];
    let flat: (string | Buffer | number)[];
    try {
      flat = buffers ? await this.#redis.qClaimBuffer(...args) : await this.#redis.qClaim(...args);
    } catch (error) {
      // It may have run with its reply lost (and ioredis gave up re-sending it): the same nonce makes
      // the next claim return what this one took, or take afresh if it never ran.
      this.#repeatClaim = true;
      throw error;
    }
    this.#repeatClaim = false;
    const out: RedisMessage<string | Buffer>[] = [];
    for (let i = 0; i < flat.length; i += 3) {
      const id = Number(flat[i]);
      out.push({ body: flat[i + 2] as string | Buffer, id, deliveries: Number(flat[i + 1]) });
    }
    return out;
  }

  async #flushSettles(tasks: number[]): Promise<void> {
    const acks: number[] = [];
    const requeues: number[] = [];
    const undos: number[] = [];
    for (const t of tasks) {
      const id = Math.floor(t / 4);
      const kind = t % 4;
      (kind === ACK ? acks : kind === REQUEUE ? requeues : undos).push(id);
    }
    const pipeline = this.#redis.pipeline();
    if (acks.length > 0) pipeline.hdel(this.#inflight, ...acks.map(String));
    const scripted = pipeline as unknown as ScriptedRedis;
    if (requeues.length > 0) void scripted.qRequeue(this.#inflight, this.#o.keys.retry, 'count', ...requeues);
    if (undos.length > 0) void scripted.qRequeue(this.#inflight, this.#o.keys.retry, 'undo', ...undos);
    const results = await pipeline.exec();
    for (const [error] of results ?? []) if (error) throw error;
  }

  async #beat(): Promise<void> {
    try {
      await this.#redis
        .multi()
        .set(this.#lease, '1', 'PX', this.#o.leaseMs)
        .sadd(this.#o.keys.consumers, this.id)
        .exec();
      // Every other beat, look for consumers that died: about twice per lease.
      if (++this.#beats % 2 === 0) await this.#recoverOthers();
    } catch (error) {
      this.#health.failed(error);
    }
  }

  /** Returns the messages of every consumer whose lease expired. Safe to run anywhere, any time. */
  async #recoverOthers(): Promise<void> {
    const { keys } = this.#o;
    try {
      const consumers = await this.#redis.smembers(keys.consumers);
      for (const c of consumers) {
        if (c === this.id) continue;
        await this.#redis.qRecover(
          keys.lease(c),
          keys.inflight(c),
          keys.staging(c),
          keys.retry,
          keys.consumers,
          keys.claim(c),
          c,
          '',
        );
      }
    } catch (error) {
      this.#health.failed(error);
    }
  }
}
