import { type Outcome, type ProduceListener, type Producer, sleep } from '@q/core';
import type { Cluster, Redis } from 'ioredis';
import { watchConnection } from './connection-watch.js';
import type { ResolvedOptions } from './producer-options.js';
import { SourceHealth, untilAborted } from './source-health.js';

/** go-zero rq's producer, batched: `LPOP key n` while there is data, `BLMPOP` while there is none. */
export class AtMostOnceProducer implements Producer<string | Buffer> {
  readonly #o: ResolvedOptions;
  readonly #blocking: Redis | Cluster;
  readonly #health: SourceHealth;
  readonly #unwatch: () => void;

  constructor(o: ResolvedOptions) {
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
