/**
 * What an outbox hands its sink for each message: `RedisListPusher` pushes `body`, `KafkaPusher` writes
 * `key`, `value` and `headers`. `headers` always holds `q-outbox-id`: `<outbox id>:<seq>`, the same on
 * every replay, by which sinks and consumers de-duplicate.
 */
export interface OutboxSinkMessage {
  /** The message's bytes. */
  readonly body: Buffer;
  /** The same Buffer as `body`, under the name `KafkaPusher` reads. */
  readonly value: Buffer;
  /** The message's key (Kafka: its partition), or null. */
  readonly key: Buffer | null;
  /** The headers given to `send`, and `q-outbox-id`. */
  readonly headers: Record<string, string>;
}
