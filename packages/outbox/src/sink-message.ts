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
  /**
   * The message's key (Kafka: its partition). A message sent without one gets its outbox id as key: a
   * keyless Kafka record goes round-robin, so a replay could land on another partition than its first
   * write, where de-duplication by high-water mark would drop it as a replay of a later message.
   */
  readonly key: Buffer;
  /** The headers given to `send`, and `q-outbox-id`. */
  readonly headers: Record<string, string>;
}
