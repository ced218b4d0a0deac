import type { Cluster, Redis } from 'ioredis';
import { type ScriptedRedis, withScripts } from './scripts.js';
import type { SourceHealth } from './source-health.js';

/**
 * A producer's entry in its list's readers set (`lua/readers-1.lua`), which `mandatory` pushers
 * check: it lives `ttlMs` (the producer's `leaseMs`) and is renewed every third of that, so a
 * producer that died without closing stops counting within `ttlMs`; close removes it at once.
 */
export class ReaderRegistration {
  readonly #redis: ScriptedRedis;
  readonly #readers: string;
  readonly #id: string;
  readonly #ttlMs: number;
  readonly #health: SourceHealth;
  readonly #timer: NodeJS.Timeout;
  /** The renewal in progress, so stop() does not race it (a late ZADD would register a closed producer). */
  #renewing: Promise<void> | undefined;

  constructor(redis: Redis | Cluster, readers: string, id: string, ttlMs: number, health: SourceHealth) {
    this.#redis = withScripts(redis);
    this.#readers = readers;
    this.#id = id;
    this.#ttlMs = ttlMs;
    this.#health = health;
    this.#timer = setInterval(
      () => {
        this.#renewing ??= this.register()
          .catch((error: unknown) => void this.#health.failed(error))
          .finally(() => {
            this.#renewing = undefined;
          });
      },
      Math.max(50, Math.floor(ttlMs / 3)),
    );
    this.#timer.unref();
  }

  /** Registers (or renews) the producer; rejects when Redis did not take it. */
  async register(): Promise<void> {
    await this.#redis.qReaders(this.#readers, 'register', this.#id, this.#ttlMs);
  }

  /** Stops renewing and removes the entry; rejects when Redis did not answer (the entry then expires). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#renewing;
    await this.#redis.qReaders(this.#readers, 'unregister', this.#id);
  }
}
