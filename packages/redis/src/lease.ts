import type { Cluster, Redis } from 'ioredis';
import type { ConsumerKeys, QueueKeys } from './keys.js';
import { recoverExpired } from './recovery.js';
import type { ScriptedRedis } from './scripts.js';
import type { SourceHealth } from './source-health.js';

/**
 * A consumer's lease and its heartbeat: the lease key lives `leaseMs` without a renewal and is renewed
 * every third of that (each claim renews it too). Every other beat, about twice per lease, the
 * heartbeat also returns the messages of consumers whose lease expired, so any live instance
 * recovers a dead one's. Once at the start as well, so messages of a consumer that died while no
 * instance ran go back at once.
 *
 * A lease can run out while its holder lives (a pause longer than `leaseMs`); the next beat or claim
 * takes it again. Whatever was recovered meanwhile is delivered again elsewhere; the holder's late
 * settles for it touch nothing, since delivery ids never repeat.
 */
export class Lease {
  readonly #redis: (Redis | Cluster) & ScriptedRedis;
  readonly #keys: QueueKeys;
  readonly #own: ConsumerKeys;
  readonly #consumer: string;
  readonly #leaseMs: number;
  readonly #health: SourceHealth;
  readonly #timer: NodeJS.Timeout;
  #beats = 0;
  /** The beat in progress, so stop() does not race it (a late SADD would register the consumer again). */
  #beating: Promise<void> | undefined;

  constructor(
    redis: (Redis | Cluster) & ScriptedRedis,
    keys: QueueKeys,
    own: ConsumerKeys,
    consumer: string,
    leaseMs: number,
    health: SourceHealth,
  ) {
    this.#redis = redis;
    this.#keys = keys;
    this.#own = own;
    this.#consumer = consumer;
    this.#leaseMs = leaseMs;
    this.#health = health;
    this.#timer = setInterval(
      () => {
        this.#beating ??= this.#beat().finally(() => {
          this.#beating = undefined;
        });
      },
      Math.max(50, Math.floor(leaseMs / 3)),
    );
    this.#timer.unref();
    void this.#recoverOthers();
  }

  /** Stops the heartbeat and waits for a beat in progress. The lease itself expires or is released by the caller. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#beating;
  }

  async #beat(): Promise<void> {
    try {
      await this.#redis
        .multi()
        .set(this.#own.lease, '1', 'PX', this.#leaseMs)
        .sadd(this.#keys.consumers, this.#consumer)
        // Alive after all: recovery must not forget this consumer (see lua/recover-6.lua).
        .hdel(this.#own.claim, 'gone')
        .exec();
      if (++this.#beats % 2 === 0) await this.#recoverOthers();
    } catch (error) {
      this.#health.failed(error);
    }
  }

  async #recoverOthers(): Promise<void> {
    try {
      await recoverExpired(this.#redis, this.#keys, this.#consumer, this.#leaseMs);
    } catch (error) {
      this.#health.failed(error);
    }
  }
}
