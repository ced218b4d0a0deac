import type { Cluster, Redis } from 'ioredis';
import type { ConsumerKeys } from './keys.js';
import type { RedisMessage, ResolvedOptions } from './producer-options.js';
import type { ScriptedRedis } from './scripts.js';

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
  #nonce = 0;
  /** Whether the latest claim failed, so the next one repeats its nonce. */
  #repeat = false;

  constructor(redis: (Redis | Cluster) & ScriptedRedis, o: ResolvedOptions, consumer: string, own: ConsumerKeys) {
    this.#redis = redis;
    this.#buffers = o.buffers;
    const { keys } = o;
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
  }

  /** Claims the next batch; an empty array when the staging, retry and main lists are all empty. */
  async take(): Promise<RedisMessage<string | Buffer>[]> {
    if (!this.#repeat) this.#nonce++;
    let flat: (string | Buffer | number)[];
    try {
      flat = this.#buffers
        ? await this.#redis.qClaimBuffer(...this.#args, this.#nonce)
        : await this.#redis.qClaim(...this.#args, this.#nonce);
    } catch (error) {
      this.#repeat = true;
      throw error;
    }
    this.#repeat = false;
    const out: RedisMessage<string | Buffer>[] = [];
    for (let i = 0; i < flat.length; i += 3) {
      out.push({ body: flat[i + 2] as string | Buffer, id: Number(flat[i]), deliveries: Number(flat[i + 1]) });
    }
    return out;
  }
}
