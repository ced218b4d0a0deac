import { OUTBOX_ID_HEADER } from '@q/core';
import { type KnownOutboxId, OUTBOX_ID } from '@q/core/internal';

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

/**
 * An {@link OutboxSinkMessage} whose default key (its id, for a message sent without one) is made only
 * when a sink reads it: a Redis list never does, and a Buffer per message was a tenth of the forwarder's
 * CPU.
 */
export class SinkMessage implements OutboxSinkMessage {
  readonly body: Buffer;
  readonly value: Buffer;
  readonly headers: Record<string, string>;
  /** Its outbox id taken apart, so that a de-duplicating sink need not parse `q-outbox-id`. */
  readonly [OUTBOX_ID]: KnownOutboxId;
  #key: Buffer | undefined;

  /** `key` undefined: the key is the id, as UTF-8. Sets `q-outbox-id` in `headers`. */
  constructor(body: Buffer, headers: Record<string, string>, key: Buffer | undefined, outbox: string, seq: number) {
    const id = `${outbox}:${seq}`;
    headers[OUTBOX_ID_HEADER] = id;
    this.body = body;
    this.value = body;
    this.headers = headers;
    this.#key = key;
    this[OUTBOX_ID] = { id, outbox, seq };
  }

  /** The message's key, or its id when it was sent without one. */
  get key(): Buffer {
    this.#key ??= Buffer.from(this[OUTBOX_ID].id);
    return this.#key;
  }
}
