import type { GroupConsumerClient, TopicPartition } from './client.js';
import type { TrackedMessage } from './offset-tracker.js';
import { partitionKey } from './partition-key.js';

/**
 * Fetched batches waiting for the member's Queue, and the back-pressure on the fetch loop: above
 * `highWaterMark` messages fetched and not settled, the partitions delivering more are paused; they
 * resume once the count is down to `lowWaterMark`.
 */
export class FetchBuffer {
  readonly #client: GroupConsumerClient;
  readonly #highWaterMark: number;
  readonly #lowWaterMark: number;
  readonly #batches: TrackedMessage[][] = [];
  #buffered = 0;
  #inFlight = 0;
  /** Partitions paused for back-pressure, by partition key. */
  readonly #paused = new Map<string, TopicPartition>();
  #wake: (() => void) | undefined;

  constructor(client: GroupConsumerClient, highWaterMark: number, lowWaterMark: number) {
    this.#client = client;
    this.#highWaterMark = highWaterMark;
    this.#lowWaterMark = lowWaterMark;
  }

  /** Messages fetched and not settled yet: what back-pressure bounds. */
  get unsettled(): number {
    return this.#buffered + this.#inFlight;
  }

  /** Queues one partition's fetched batch; pauses that partition when the buffer is full. */
  add(key: string, topic: string, partition: number, entries: TrackedMessage[]): void {
    this.#batches.push(entries);
    this.#buffered += entries.length;
    this.#wake?.();
    if (this.#buffered + this.#inFlight >= this.#highWaterMark && !this.#paused.has(key)) {
      const tp = { topic, partition };
      this.#paused.set(key, tp);
      this.#client.pause([tp]);
    }
  }

  /**
   * The next batch for the Queue, waiting for one until `signal` aborts (then undefined). Batches of
   * partitions revoked meanwhile are dropped: all of it stays for the new owner.
   */
  async take(signal: AbortSignal): Promise<TrackedMessage[] | undefined> {
    for (;;) {
      const batch = this.#batches.shift();
      if (batch !== undefined) {
        this.#buffered -= batch.length;
        this.#maybeResume();
        if ((batch[0] as TrackedMessage).tracker.revoked) continue;
        this.#inFlight += batch.length;
        return batch;
      }
      if (signal.aborted) return undefined;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          signal.removeEventListener('abort', done);
          this.#wake = undefined;
          resolve();
        };
        this.#wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  /** One message handed out by {@link take} was settled (whatever its outcome). */
  settled(): void {
    this.#inFlight--;
    this.#maybeResume();
  }

  /**
   * The group's new assignment (`revoked`: the keys of partitions no longer owned). Their pauses are
   * forgotten here; and since the client keeps its paused set across assignments, every owned
   * partition not paused here is resumed: a partition paused, revoked and assigned again would
   * otherwise stay paused for good, with nothing left here to resume it.
   */
  assigned(partitions: readonly TopicPartition[], revoked: readonly string[]): void {
    for (const key of revoked) this.#paused.delete(key);
    const resume = partitions.filter((p) => !this.#paused.has(partitionKey(p.topic, p.partition)));
    if (resume.length > 0) this.#client.resume(resume);
  }

  /** Wakes a waiting {@link take} (at stop, so that it sees its aborted signal). */
  wake(): void {
    this.#wake?.();
  }

  #maybeResume(): void {
    if (this.#paused.size === 0 || this.#buffered + this.#inFlight > this.#lowWaterMark) return;
    const partitions = [...this.#paused.values()];
    this.#paused.clear();
    this.#client.resume(partitions);
  }
}
