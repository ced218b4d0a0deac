import { ConfirmUnknownError, type Logger, PublishRejectedError, UnroutableError } from '@q/core';
import type { ClientConfirmChannel, ClientConfirmFields, ClientMessage } from './client.js';

/**
 * A publish as the tracker follows it: settled exactly once, by its ack (confirmed, or unroutable
 * when a `basic.return` came for it first), its nack, its timeout, or the loss of its channel.
 */
export abstract class TrackedPublish {
  /** The channel's delivery tag, set when published. */
  tag = 0;
  /** When it counts as unknown, `performance.now()` milliseconds. */
  deadline = 0;
  /** Whether its outcome was given. */
  settled = false;
  /** The `basic.return` that came for it, if one did. */
  returned: ClientMessage | undefined = undefined;
  /**
   * The next outstanding publish with the same message id, exchange and routing key (ids a caller
   * gave may repeat: a re-push, one event routed to several keys).
   */
  sameKey: TrackedPublish | undefined = undefined;
  /** Its message id, exchange and routing key, set when published: what pairs a return with it. */
  pairKey = '';
  /** Its `message-id` property. */
  abstract readonly messageId: string;
  /** `exchange/routingKey`, for errors. */
  abstract readonly destination: string;
  /** The broker has it. */
  abstract confirmed(): void;
  /** It failed: unroutable, rejected, or unknown. */
  abstract failed(error: Error): void;
}

/** How a wait for room ended. */
export type Room = 'ready' | 'closed' | 'timeout';

/** A wait for room in the window (or for `drain`). */
interface RoomWaiter {
  readonly deadline: number;
  readonly resolve: (room: Room) => void;
}

/** What a {@link ConfirmTracker} needs to know. */
export interface TrackerOptions {
  /** Publishes outstanding at most. */
  readonly window: number;
  /** Milliseconds from a publish to its ConfirmUnknownError when no confirm came. */
  readonly confirmTimeoutMs: number;
  /** What a nack is reported as. */
  readonly nackReason: 'maxlen' | 'nack';
  readonly logger: Logger;
}

/** Delivery tags below the first outstanding one are dropped from the list in steps of this. */
const COMPACT_AT = 4096;

/**
 * The publisher-confirm bookkeeping of ONE confirm channel: delivery tags are counted here from 1
 * in publish order (amqplib's own callbacks are not used: their error for a nack and for a closed
 * channel differ only in text). An ack settles as confirmed, unless a `basic.return` for it came
 * first (RabbitMQ returns an unroutable mandatory message, then acks it): then `UnroutableError`.
 * A return names no delivery tag; it is paired by message id, exchange and routing key with the
 * oldest outstanding publish that has all three and no return yet (the broker returns in publish
 * order on a channel), so that two publishes sharing an id but not a destination are told apart. A nack settles as `PublishRejectedError`. When the channel closes, every
 * outstanding publish settles as `ConfirmUnknownError`, never as confirmed; and so does one with no
 * confirm by its deadline. One timer per tracker checks deadlines, also those of room waiters.
 */
export class ConfirmTracker {
  readonly #channel: ClientConfirmChannel;
  readonly #options: TrackerOptions;
  /** Publishes by tag: `#records[i]` has tag `#baseTag + i`; those before `#head` are settled. */
  #records: TrackedPublish[] = [];
  #baseTag = 1;
  #head = 0;
  #nextTag = 1;
  #outstanding = 0;
  /** Outstanding publishes by {@link TrackedPublish.pairKey} (the first of a chain of equal keys). */
  readonly #byKey = new Map<string, TrackedPublish>();
  #waiters: RoomWaiter[] = [];
  /** Callbacks for the moment nothing is outstanding. */
  #idle: (() => void)[] = [];
  /** False after a publish that found the channel's buffer full, until `drain`. */
  #writable = true;
  #closed = false;
  #closeCause: Error | undefined;
  readonly #timer: NodeJS.Timeout;

  constructor(channel: ClientConfirmChannel, options: TrackerOptions) {
    this.#channel = channel;
    this.#options = options;
    channel.on('ack', (fields: ClientConfirmFields) => this.#confirm(fields, undefined));
    channel.on('nack', (fields: ClientConfirmFields) =>
      this.#confirm(fields, (p) => new PublishRejectedError(p.destination, options.nackReason)),
    );
    channel.on('return', (message: ClientMessage) => this.#returned(message));
    channel.on('drain', () => {
      this.#writable = true;
      this.#wake();
    });
    channel.on('error', (error: Error) => {
      this.#closeCause ??= error;
    });
    channel.on('close', () => this.lose(this.#closeCause ?? new Error('channel closed')));
    const every = Math.max(5, Math.min(1000, Math.floor(options.confirmTimeoutMs / 4)));
    this.#timer = setInterval(() => this.#sweep(performance.now()), every);
    this.#timer.unref();
  }

  /** Publishes sent and not settled. */
  get outstanding(): number {
    return this.#outstanding;
  }

  /** Whether the channel closed (nothing can be published here any more). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Resolves `'ready'` once a publish may go (room in the window, the buffer drained), `'closed'`
   * when the channel closed, `'timeout'` at `deadline` (a `performance.now()` time).
   */
  room(deadline: number): Promise<Room> | Room {
    if (this.#closed) return 'closed';
    if (this.#hasRoom()) return 'ready';
    if (performance.now() >= deadline) return 'timeout';
    return new Promise<Room>((resolve) => this.#waiters.push({ deadline, resolve }));
  }

  /** Resolves once nothing is outstanding (every publish settled, or the channel closed). */
  whenIdle(): Promise<void> {
    if (this.#outstanding === 0 || this.#closed) return Promise.resolve();
    return new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  /**
   * Publishes `publish` (tracked until settled): `'sent'`. `'closed'` when the channel turned out
   * to be closing (amqplib throws `IllegalOperationError`): nothing was sent and `publish` is not
   * settled, so it can go on another channel. `'failed'` when the client refused the message
   * otherwise (`publish.failed` was called with its error); the channel stays usable.
   */
  publish(
    publish: TrackedPublish,
    exchange: string,
    routingKey: string,
    body: Buffer,
    options: Parameters<ClientConfirmChannel['publish']>[3],
  ): 'sent' | 'failed' | 'closed' {
    let flowing: boolean;
    try {
      flowing = this.#channel.publish(exchange, routingKey, body, options);
    } catch (error) {
      // Nothing was sent (amqplib encodes before writing), so no delivery tag was used.
      const failure = error instanceof Error ? error : new Error(String(error));
      if (failure.name === 'IllegalOperationError') {
        this.lose(failure);
        return 'closed';
      }
      publish.settled = true;
      publish.failed(failure);
      return 'failed';
    }
    if (!flowing) this.#writable = false;
    publish.tag = this.#nextTag++;
    publish.deadline = performance.now() + this.#options.confirmTimeoutMs;
    this.#records.push(publish);
    this.#outstanding += 1;
    publish.pairKey = pairKey(publish.messageId, exchange, routingKey);
    const first = this.#byKey.get(publish.pairKey);
    if (first === undefined) this.#byKey.set(publish.pairKey, publish);
    else {
      let last = first;
      while (last.sameKey !== undefined) last = last.sameKey;
      last.sameKey = publish;
    }
    return 'sent';
  }

  /**
   * The channel (or its connection) is gone: every outstanding publish settles as unknown and every
   * waiter is told. Idempotent; called by the channel's `close` and by the owner on a disconnect.
   */
  lose(cause: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    for (let i = this.#head; i < this.#records.length; i++) {
      const publish = this.#records[i] as TrackedPublish;
      if (!publish.settled) {
        this.#settle(
          publish,
          new ConfirmUnknownError(publish.destination, 'the channel closed before the broker confirmed it', { cause }),
        );
      }
    }
    this.#records = [];
    this.#head = 0;
    this.#byKey.clear();
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.resolve('closed');
    this.#wakeIdle();
  }

  #wakeIdle(): void {
    const idle = this.#idle;
    this.#idle = [];
    for (const resolve of idle) resolve();
  }

  #hasRoom(): boolean {
    return this.#writable && this.#outstanding < this.#options.window;
  }

  #confirm(fields: ClientConfirmFields, rejection: ((p: TrackedPublish) => Error) | undefined): void {
    const last = fields.deliveryTag - this.#baseTag;
    if (last < this.#head || last >= this.#records.length) return;
    const first = fields.multiple ? this.#head : last;
    for (let i = first; i <= last; i++) {
      const publish = this.#records[i] as TrackedPublish;
      if (publish.settled) continue;
      if (rejection !== undefined) this.#settle(publish, rejection(publish));
      else if (publish.returned !== undefined) this.#settle(publish, unroutable(publish, publish.returned));
      else this.#settle(publish, undefined);
    }
    this.#advance();
    this.#wake();
  }

  #returned(message: ClientMessage): void {
    const id = message.properties.messageId;
    const { exchange, routingKey } = message.fields;
    let publish = id === undefined ? undefined : this.#byKey.get(pairKey(id, exchange, routingKey));
    while (publish !== undefined && publish.returned !== undefined) publish = publish.sameKey;
    if (publish === undefined) {
      this.#options.logger.debug(
        { messageId: id, exchange, routingKey },
        'a returned message matched no outstanding publish',
      );
      return;
    }
    publish.returned = message;
  }

  #settle(publish: TrackedPublish, error: Error | undefined): void {
    publish.settled = true;
    this.#outstanding -= 1;
    this.#forgetKey(publish);
    if (this.#outstanding === 0 && this.#idle.length > 0) this.#wakeIdle();
    if (error === undefined) publish.confirmed();
    else publish.failed(error);
  }

  #forgetKey(publish: TrackedPublish): void {
    const first = this.#byKey.get(publish.pairKey);
    if (first === publish) {
      if (publish.sameKey === undefined) this.#byKey.delete(publish.pairKey);
      else this.#byKey.set(publish.pairKey, publish.sameKey);
      return;
    }
    for (let p = first; p !== undefined; p = p.sameKey) {
      if (p.sameKey === publish) {
        p.sameKey = publish.sameKey;
        return;
      }
    }
  }

  /** Moves `#head` past settled publishes, dropping them from the list now and then. */
  #advance(): void {
    const records = this.#records;
    while (this.#head < records.length && (records[this.#head] as TrackedPublish).settled) this.#head++;
    if (this.#head >= COMPACT_AT && this.#head * 2 >= records.length) {
      records.splice(0, this.#head);
      this.#baseTag += this.#head;
      this.#head = 0;
    }
  }

  #wake(): void {
    if (this.#waiters.length === 0 || !this.#hasRoom()) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.resolve('ready');
  }

  /** Times out publishes past their deadline, and room waiters past theirs. */
  #sweep(now: number): void {
    const records = this.#records;
    // Publishes are in deadline order (one timeout for all, set at publish).
    for (let i = this.#head; i < records.length; i++) {
      const publish = records[i] as TrackedPublish;
      if (publish.settled) continue;
      if (publish.deadline > now) break;
      this.#settle(
        publish,
        new ConfirmUnknownError(publish.destination, `no confirm within ${this.#options.confirmTimeoutMs} ms`),
      );
    }
    this.#advance();
    this.#wake();
    if (this.#waiters.length === 0) return;
    const waiting: RoomWaiter[] = [];
    for (const waiter of this.#waiters) {
      if (waiter.deadline <= now) waiter.resolve('timeout');
      else waiting.push(waiter);
    }
    this.#waiters = waiting;
  }
}

/** One string for the three (JSON: no separator can be forged by the parts). */
function pairKey(messageId: string, exchange: string, routingKey: string): string {
  return JSON.stringify([messageId, exchange, routingKey]);
}

function unroutable(publish: TrackedPublish, returned: ClientMessage): UnroutableError {
  const { replyCode, replyText } = returned.fields;
  return new UnroutableError(publish.destination, `${replyCode ?? 312} ${replyText ?? 'NO_ROUTE'}`);
}
