import { UnroutableError } from '@q/core';
import type { Cluster, Redis } from 'ioredis';
import { type ScriptedRedis, withScripts } from './scripts.js';

/**
 * A `mandatory` pusher's question "does anything read this list?": a producer registration in the
 * list's readers set (`lua/readers-1.lua`). A yes is trusted for `cacheMs`; a no is never cached, so
 * pushes succeed as soon as a producer starts. Questions asked while one is under way share its answer.
 */
export class ReaderCheck {
  readonly #redis: ScriptedRedis;
  readonly #readers: string;
  readonly #destination: string;
  readonly #cacheMs: number;
  /** Until when (`Date.now()`) the last yes holds. */
  #until = 0;
  #asking: Promise<void> | undefined;

  constructor(redis: Redis | Cluster, readers: string, destination: string, cacheMs: number) {
    this.#redis = withScripts(redis);
    this.#readers = readers;
    this.#destination = destination;
    this.#cacheMs = cacheMs;
  }

  /** Whether a recent yes still holds (then a push needs no round trip). */
  known(): boolean {
    return this.#asking === undefined && Date.now() < this.#until;
  }

  /**
   * Resolves when a producer is registered; rejects with `UnroutableError` when none is, or with the
   * error of the question (Redis unreachable: then nothing is known, and nothing is pushed).
   */
  check(): Promise<void> {
    this.#asking ??= this.#ask().finally(() => {
      this.#asking = undefined;
    });
    return this.#asking;
  }

  async #ask(): Promise<void> {
    const readers = await this.#redis.qReaders(this.#readers, 'count');
    if (Number(readers) > 0) {
      this.#until = Date.now() + this.#cacheMs;
      return;
    }
    throw new UnroutableError(this.#destination, 'no consumer is registered for the list');
  }
}
