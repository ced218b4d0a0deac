import type { Cluster, Redis } from 'ioredis';
import type { ConsumerKeys } from './keys.js';
import type { RedisMessage, ResolvedOptions } from './producer-options.js';
import type { ScriptedRedis } from './scripts.js';

/** What one claim took. */
export interface Claimed {
  /** Messages to hand to the queue. */
  readonly messages: RedisMessage<string | Buffer>[];
  /** Messages over `maxDeliveries`, held in flight for the dead-letter pusher. */
  readonly over: readonly RedisMessage<string | Buffer>[];
}

const NONE: readonly RedisMessage<string | Buffer>[] = Object.freeze([]);

/**
 * The claims of one at-least-once consumer: each moves up to `batchSize` messages into its in-flight
 * record with the claim script (`lua/claim-9.lua`), one round trip, and renews its lease.
 *
 * Every claim carries a nonce, rising per consumer. ioredis re-sends a command whose reply was lost
 * in a reconnect; the script answers a re-sent claim (same nonce) with the messages the first run
 * took, so they reach the queue instead of staying stranded in the in-flight record. A claim that
 * fails (the client gave up waiting for it) is sent again with the same nonce: it returns what the
 * first run took, or takes afresh if that never ran.
 */
export class Claims {
  readonly #redis: (Redis | Cluster) & ScriptedRedis;
  readonly #buffers: boolean;
  /** The script's keys and fixed arguments; the nonce is appended per call. */
  readonly #args: (string | number)[];
  readonly #source: string;
  #nonce = 0;
  /** "1" when messages over `maxDeliveries` come back to us (a `deadLetter` pusher takes them). */
  readonly #hold: string;
  /** Whether the latest claim failed, so the next one repeats its nonce. */
  #repeat = false;

  constructor(redis: (Redis | Cluster) & ScriptedRedis, o: ResolvedOptions, consumer: string, own: ConsumerKeys) {
    this.#redis = redis;
    this.#buffers = o.buffers;
    const { keys } = o;
    this.#source = keys.list;
    this.#args = [
      keys.list,
      keys.retry,
      own.inflight,
      own.lease,
      keys.consumers,
      own.staging,
      keys.dead,
      keys.ids,
      own.claim,
      o.batchSize,
      o.leaseMs,
      consumer,
      o.maxDeliveries,
    ];
    // The nonce goes between: ARGV[5] is the nonce, ARGV[6] whether over-limit messages are held for us.
    this.#hold = o.deadLetter !== undefined ? '1' : '0';
  }

  /**
   * Claims the next batch: `messages` to deliver, and `over` (only with a `deadLetter`) those over
   * `maxDeliveries`, in flight like the others, to dead-letter. Both empty when the staging, retry and
   * main lists are all empty.
   */
  async take(): Promise<Claimed> {
    if (!this.#repeat) this.#nonce++;
    let flat: (string | Buffer | number)[];
    try {
      flat = this.#buffers
        ? await this.#redis.qClaimBuffer(...this.#args, this.#nonce, this.#hold)
        : await this.#redis.qClaim(...this.#args, this.#nonce, this.#hold);
    } catch (error) {
      this.#repeat = true;
      throw error;
    }
    this.#repeat = false;
    const messages: RedisMessage<string | Buffer>[] = [];
    let over: RedisMessage<string | Buffer>[] | undefined;
    for (let i = 0; i < flat.length; i += 3) {
      const deliveries = Number(flat[i + 1]);
      const m = {
        body: flat[i + 2] as string | Buffer,
        id: Number(flat[i]),
        deliveries: Math.abs(deliveries),
        source: this.#source,
      };
      if (deliveries > 0) messages.push(m);
      else (over ??= []).push(m);
    }
    return { messages, over: over ?? NONE };
  }
}
