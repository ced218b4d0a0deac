import type { DeathRecord, ProducerFactory, Pusher, QueueOptions } from '@q/core';

/** A running consumer of a destination that is not a plain `Queue` (Kafka's `KafkaQueue`). */
export interface Running {
  /** Resolves once the consumer stopped and drained. */
  readonly done: Promise<void>;
  /** Stops it; what is unfinished at the deadline is left to the source. */
  stop(options: { timeoutMs: number }): Promise<void>;
}

/** What the suite sends: an id (unique per test) and a key (ordering). Adapters encode it as they like. */
export interface ConformanceMessage {
  readonly id: string;
  readonly key: string;
}

/** A message as the handler saw it. */
export interface Received extends ConformanceMessage {
  /** How often the source says it was delivered (1 = first time), when it knows. */
  readonly deliveries?: number;
}

/** What an adapter promises. The suite tests each promise, and that each option-backed refusal is clear. */
export interface Features {
  /** Messages of one key, pushed in order, are delivered in that order to a single consumer. */
  readonly perKeyOrder: boolean;
  /** A message whose handler failed (outcome `failed`) is delivered again. */
  readonly nackRequeue: boolean;
  /** `deliveryLimit`: past it, a failing message is dead-lettered with reason `delivery-limit`. */
  readonly deliveryLimit: boolean;
  /** `ttlMs`: an expired message is never handled; it is dead-lettered with reason `expired`. */
  readonly ttl: boolean;
  /** The overflow policies `maxLength` supports (empty: `maxLength` is refused). */
  readonly maxLength: readonly ('drop-head' | 'reject-publish')[];
  /** A push to a destination nothing receives from rejects with `UnroutableError`. */
  readonly mandatory: boolean;
}

/** Options of a destination; an adapter throws `UnsupportedFeatureError` for those it cannot honour. */
export interface DestinationOptions {
  /** Messages live this long after the push. */
  readonly ttlMs?: number;
  /** At most this many ready messages. */
  readonly maxLength?: number;
  /** What a push beyond `maxLength` does. */
  readonly overflow?: 'drop-head' | 'reject-publish';
  /** Deliveries before a failing message is dead-lettered. */
  readonly deliveryLimit?: number;
}

/** One fresh queue (list, topic, log) of an adapter, with a dead-letter destination beside it. */
export interface Destination {
  /** Its name, as dead-letter records name it. */
  readonly name: string;
  /** A confirming pusher to it; close it when done (the suite does). */
  pusher(): Pusher<ConformanceMessage> & { close(): Promise<void> | void };
  /** A producer factory reading it, for `new Queue(...)`; `dead-lettered` and `failed` as the options say. */
  producerFactory(): ProducerFactory<unknown>;
  /**
   * For adapters whose consumer is not a `Queue` of a producer factory: runs `handler` on the
   * destination, mapping the Queue options it understands (consumers, retry, deadLetter, stop deadline).
   */
  run?(handler: (message: unknown) => Promise<void>, options: Partial<QueueOptions<unknown>>): Running;
  /** The Queue's `deadLetter` pusher for handler failures (reason `rejected`), when the adapter uses one. */
  deadLetterPusher?(): Pusher<unknown> & { close(): Promise<void> | void };
  /** The message a handler got, decoded. */
  decode(message: unknown): Received;
  /** What reached the dead-letter destination so far, with the death records it carries. */
  deadLetters(): Promise<{ readonly id: string; readonly deaths: readonly DeathRecord[] }[]>;
  /** Plain data a worker process passes to {@link ConformanceAdapter.reopen} to read this destination. */
  readonly config: Record<string, unknown>;
  /** Lets go of what another process needs to open the destination (an embedded log's lock); it is reopened on use. */
  release?(): Promise<void>;
  /** Removes the destination. */
  dispose(): Promise<void>;
}

/** An adapter under test: one per broker connection. */
export interface ConformanceAdapter {
  /** `redis`, `kafka`, `amqp`, `log`. */
  readonly name: string;
  /** Plain data from which `connect` in a worker process reaches the same broker. @default {} */
  readonly connection?: Record<string, unknown>;
  /** What it promises. */
  readonly features: Features;
  /** Most messages a killed consumer process can have been handed without settling (its duplicates bound). */
  readonly inFlightBound: number;
  /** A fresh destination. Throws `UnsupportedFeatureError` (synchronously or as a rejection) for what it cannot honour. */
  destination(options?: DestinationOptions): Promise<Destination>;
  /** The destination `config` names, in another process. */
  reopen(config: Record<string, unknown>): Promise<Destination>;
  /** A push to a destination that does not exist (required when `features.mandatory`). */
  pushUnroutable?(message: ConformanceMessage): Promise<void>;
  /** A push through a broker address where nothing listens: must reject, never resolve. */
  pushUnreachable(message: ConformanceMessage): Promise<void>;
  /** Closes connections. */
  close(): Promise<void>;
}

/**
 * The module of an adapter binding: `test-support/conformance/adapters/<name>.ts` exports `connect`,
 * so a worker process can build the same adapter from plain data.
 */
export type ConnectAdapter = (connection: Record<string, unknown>) => Promise<ConformanceAdapter>;
