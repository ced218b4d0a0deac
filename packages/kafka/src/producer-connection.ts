import { backoffDelay, type RetryPolicy, sleep } from '@q/core';
import type { ProducerClient } from './client.js';

const CONNECTED = Promise.resolve();

/**
 * Connects a producer on demand and again after a failed connect: a rejected connect is never kept
 * (one failed connect used to break a KafkaPusher for good). A connect is tried up to
 * `policy.attempts` times with back-off in between; concurrent callers share the attempts under way.
 * After {@link stopRetrying} no back-off is waited: each caller gets one last try.
 */
export class ProducerConnection {
  readonly #producer: ProducerClient;
  readonly #policy: RetryPolicy;
  readonly #closed = new AbortController();
  #connected = false;
  #connecting: Promise<void> | undefined;
  #tried = false;

  constructor(producer: ProducerClient, policy: RetryPolicy) {
    this.#producer = producer;
    this.#policy = policy;
  }

  /** Resolves once connected; rejects with the last connect error when every attempt failed. */
  ready(): Promise<void> {
    if (this.#connected) return CONNECTED;
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  /** Cuts every back-off short, now and later: from here on a failed connect is not tried again. */
  stopRetrying(): void {
    this.#closed.abort();
  }

  /**
   * Stops retrying, waits for a connect under way (the client bounds it), and disconnects. Call it
   * after the last write.
   */
  async close(): Promise<void> {
    this.stopRetrying();
    await this.#connecting?.catch(() => {});
    // A failed connect may still hold sockets to the brokers it reached.
    if (this.#tried) await this.#producer.disconnect();
    this.#connected = false;
  }

  async #connect(): Promise<void> {
    const signal = this.#closed.signal;
    for (let attempt = 1; ; attempt++) {
      this.#tried = true;
      try {
        await this.#producer.connect();
        this.#connected = true;
        return;
      } catch (error) {
        if (attempt >= this.#policy.attempts || signal.aborted) throw error;
        await sleep(backoffDelay(this.#policy, attempt), signal);
        if (signal.aborted) throw error;
      }
    }
  }
}
