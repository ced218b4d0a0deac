import { EventEmitter } from 'node:events';
import { consoleLogger, InvalidOptionError, QueueStateError } from '@q/core';
import { duration, safeLogger } from '@q/core/internal';
import { OutboxClosedError } from './errors.js';
import { type OutboxEvents, Reporter } from './events.js';
import { waitForRoom } from './full.js';
import type { Taken } from './idempotency.js';
import { type Accepted, accept, acceptBody, type OutboxInput } from './message.js';
import { type OutboxOptions, type ResolvedOutboxOptions, resolveOutboxOptions } from './options.js';
import { type OutboxParts, openParts } from './parts.js';
import type { OutboxStats } from './stats.js';

/** Options of {@link Outbox.send}. */
export interface SendOptions {
  /** The message's key (Kafka: its partition). @default none */
  key?: string | Buffer;
  /** Headers for the sink; names starting `q-outbox-` are refused (the outbox's own). @default none */
  headers?: Readonly<Record<string, string>>;
  /**
   * Withdraws the send while it waits (for room, for its log group, in the direct-first queue): it then
   * rejects with the signal's reason and nothing is stored. Once being written, the abort is ignored.
   * @default none
   */
  signal?: AbortSignal;
  /** A client-chosen key: while remembered, another send with it stores nothing and gets the earlier id. @default none */
  idempotencyKey?: string;
}

/** What a resolved send tells: the message's stable id. */
export interface SendResult {
  /** `<outbox id>:<seq>`, the `q-outbox-id` header the sink gets, the same on every replay. */
  readonly id: string;
  /** The sequence number in it. */
  readonly seq: number;
  /** True when the idempotency key was taken: nothing was stored, `id` is the earlier message's. */
  readonly duplicate: boolean;
}

/** The common send's continuations, made once per outbox (see `LogWriter.appendOne`). */
interface FastSend {
  done(seq: number): SendResult;
  failed(err: unknown, a: Accepted, signal: AbortSignal | undefined): Promise<SendResult>;
}

/**
 * Sending that never loses a message when the broker is down. `send` resolves once the message is safe:
 * fsync'd in the local log (`'write-ahead'`, the default; a forwarder pushes the log to the sink), or
 * confirmed by the sink (`'direct-first'`, spilling to the log when the sink fails or is slow). Every
 * message has a stable id, `<outbox id>:<seq>`, in its `q-outbox-id` header, by which sinks de-duplicate
 * a replay. What is not forwarded at `close()` stays in the log; the next open forwards it.
 *
 * ```ts
 * import { Outbox } from '@q/outbox';
 * import { RedisListPusher } from '@q/redis';
 * import { Redis } from 'ioredis';
 *
 * const sink = new RedisListPusher({ redis: new Redis(), key: 'orders' });
 * await using outbox = new Outbox({ dir: './data/outbox', sink });
 * const { id } = await outbox.send('{"order":1}'); // safe on disk; reaches Redis when it is up
 * ```
 */
export class Outbox extends EventEmitter<OutboxEvents> implements AsyncDisposable {
  /** The outbox's directory. */
  readonly dir: string;
  readonly #options: ResolvedOutboxOptions;
  readonly #reporter: Reporter;
  readonly #closing = new AbortController();
  readonly #opening: Promise<OutboxParts>;
  #parts: OutboxParts | undefined;
  #fast: FastSend | undefined;
  #closed: Promise<void> | undefined;

  /** Validates the options (throwing `InvalidOptionError`) and opens the directory in the background. */
  constructor(options: OutboxOptions) {
    super();
    this.#options = resolveOutboxOptions(options);
    this.dir = this.#options.dir;
    this.#reporter = new Reporter(this, safeLogger(this.#options.logger ?? consoleLogger));
    this.#opening = openParts(this.#options, this.#reporter, this.#closing.signal).then((parts) => {
      this.#parts = parts;
      return parts;
    });
    this.#opening.catch((err: unknown) => this.#reporter.logger.error({ err, dir: this.dir }, 'outbox: open failed'));
  }

  /** The outbox's id, the first half of every message id. Known once {@link Outbox.ready} resolved. */
  get id(): string {
    if (this.#parts === undefined) throw new QueueStateError('The outbox id is known once ready() resolved', 'opening');
    return this.#parts.id;
  }

  /** Resolves once the directory is open and forwarding has started; rejects with the open's error. */
  async ready(): Promise<void> {
    await this.#opening;
  }

  /**
   * Takes one message; resolves with its id once it is safe (durable in the log, or confirmed by the sink
   * in direct-first). Rejects only when the message was not taken: `OutboxClosedError`, `OutboxFullError`
   * (`whenFull: 'reject'`), `RecordTooLargeError`, `InvalidOptionError`, the signal's reason, or the
   * log's failure (`LogSyncError`).
   */
  send(body: string | Buffer, options?: SendOptions): Promise<SendResult> {
    const p = this.#parts;
    const signal = options?.signal;
    if (
      p !== undefined &&
      p.direct === undefined &&
      (typeof body === 'string' || Buffer.isBuffer(body)) &&
      (options === undefined ||
        (typeof options === 'object' &&
          options !== null &&
          options.key === undefined &&
          options.headers === undefined &&
          options.idempotencyKey === undefined &&
          (signal === undefined || (signal instanceof AbortSignal && !signal.aborted)))) &&
      !this.#closing.signal.aborted
    ) {
      // The common case (write-ahead, a bare body) without the async layers of the general path: each
      // layer delays the caller's next send, and the log's groups get smaller for it.
      let a: Accepted;
      try {
        a = acceptBody(body, this.#options.maxRecordBytes);
      } catch (err) {
        return Promise.reject(err);
      }
      const fast = (this.#fast ??= this.#fastSend(p));
      return p.writer.appendOne(a, signal, fast.done, fast.failed);
    }
    return this.#sendOne(body, options);
  }

  /** What the common send resolves with once appended, and what it does when it was not: made once. */
  #fastSend(p: OutboxParts): FastSend {
    return {
      done: (seq) => {
        p.counters.accepted++;
        return { id: `${p.id}:${seq}`, seq, duplicate: false };
      },
      failed: async (err, a, signal) => {
        await waitForRoom(err, 1, p.room, signal, a.bytes);
        const [seq] = await this.#store(p, [a], signal, 2);
        return { ...this.#taken(seq as number), duplicate: false };
      },
    };
  }

  async #sendOne(body: string | Buffer, options: SendOptions = {}): Promise<SendResult> {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
    const input: OutboxInput = {
      body,
      key: options.key,
      headers: options.headers,
      idempotencyKey: options.idempotencyKey,
    };
    return (await this.#sendItems([input], options.signal))[0] as SendResult;
  }

  /** Takes several messages as one log group (all or nothing); resolves with their ids in order. */
  async sendBatch(items: readonly OutboxInput[], options: { signal?: AbortSignal } = {}): Promise<SendResult[]> {
    if (!Array.isArray(items)) throw new InvalidOptionError('items', items, 'an array of { body, key?, headers? }');
    return this.#sendItems(items, options.signal);
  }

  /** Counters and the backlog, now. */
  stats(): OutboxStats {
    const p = this.#parts;
    const c = p?.counters;
    const oldest = p?.forwarder.oldestTimestamp;
    return {
      mode: this.#options.mode,
      route: p?.direct?.isDirect() ? 'direct' : 'log',
      sink: p?.health.state ?? 'up',
      backlogMessages: p?.forwarder.backlog ?? 0,
      backlogBytes: p?.backlog.bytes ?? 0,
      oldestAgeMs: oldest === undefined ? 0 : Math.max(0, Date.now() - oldest),
      directPending: p?.direct?.pending ?? 0,
      accepted: c?.accepted ?? 0,
      forwarded: c?.forwarded ?? 0,
      direct: c?.direct ?? 0,
      spilled: c?.spilled ?? 0,
      deadLettered: c?.deadLettered ?? 0,
      duplicatesSuppressed: c?.duplicatesSuppressed ?? 0,
    };
  }

  /**
   * Stops taking sends (they reject with `OutboxClosedError`), spills direct-first messages still in
   * memory to the log, forwards what it can until `timeoutMs`, then stops the forwarder and closes the log:
   * what is not forwarded stays there for the next open, which forwards it by itself. The sink is not
   * closed (it is the caller's). Idempotent.
   * @param options.timeoutMs How long to go on forwarding. @default 10000
   * @throws {InvalidOptionError} (rejects) when `timeoutMs` is not a number of milliseconds from 0 to 2^31-1.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#closed !== undefined) return this.#closed;
    let timeoutMs: number;
    try {
      timeoutMs = duration('timeoutMs', options?.timeoutMs ?? 10_000, 0);
    } catch (err) {
      return Promise.reject(err);
    }
    this.#closing.abort();
    this.#closed = this.#close(timeoutMs);
    return this.#closed;
  }

  /** {@link Outbox.close} with its default deadline, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(timeoutMs: number): Promise<void> {
    let p: OutboxParts;
    try {
      p = await this.#opening;
    } catch {
      return;
    }
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), timeoutMs);
    try {
      await p.direct?.spill('close');
      await p.writer.idle();
      await p.forwarder.caughtUp(deadline.signal);
    } finally {
      clearTimeout(timer);
      // Each step runs whatever the one before did: the log's close (and its LOCK) comes last, always.
      try {
        await p.forwarder.stop();
      } finally {
        try {
          await p.counter?.idle();
          await p.deadLetters.close();
        } finally {
          await p.log.close();
        }
      }
    }
  }

  async #sendItems(inputs: readonly OutboxInput[], signal: AbortSignal | undefined): Promise<SendResult[]> {
    if (this.#closing.signal.aborted) throw new OutboxClosedError(this.dir);
    if (signal !== undefined && !(signal instanceof AbortSignal))
      throw new InvalidOptionError('signal', signal, 'an AbortSignal');
    const max = this.#options.maxRecordBytes;
    const accepted = inputs.map((input, i) => {
      if (typeof input !== 'object' || input === null) throw new InvalidOptionError(`items[${i}]`, input, 'an object');
      return accept(input, max, inputs.length === 1 ? 'body' : `items[${i}].body`);
    });
    if (accepted.length === 0) return [];
    const p = this.#parts ?? (await this.#opening);
    if (accepted.length === 1 && accepted[0]?.idempotencyKey === undefined) {
      // The common case, without the bookkeeping of keys.
      const [seq] = await this.#store(p, accepted, signal);
      return [{ ...this.#taken(seq as number), duplicate: false }];
    }
    return this.#sendAccepted(p, accepted, signal);
  }

  /**
   * Sends what is new, in one group; a message whose idempotency key is taken (earlier, or earlier in
   * `accepted`) is a duplicate. Earlier sends still under way with one of the keys are waited for first,
   * so that what is new is known before anything is stored: all or nothing, even when one of them fails.
   */
  async #sendAccepted(p: OutboxParts, accepted: Accepted[], signal: AbortSignal | undefined): Promise<SendResult[]> {
    const keys: string[] = [];
    for (const a of accepted) if (a.idempotencyKey !== undefined) keys.push(a.idempotencyKey);
    // Checked again after each wait, synchronously before the keys are looked up: another send may have taken one.
    for (
      let held = p.idempotency.whenFree(keys, signal);
      held !== undefined;
      held = p.idempotency.whenFree(keys, signal)
    )
      await held;
    type Slot = { fresh: number } | { sameAs: number } | { earlier: Promise<Taken> };
    const slots: Slot[] = [];
    const fresh: Accepted[] = [];
    const firstWithKey = new Map<string, number>();
    for (const a of accepted) {
      const key = a.idempotencyKey;
      if (key !== undefined) {
        const earlier = p.idempotency.get(key);
        const same = firstWithKey.get(key);
        if (earlier !== undefined) slots.push({ earlier });
        else if (same !== undefined) slots.push({ sameAs: same });
        if (earlier !== undefined || same !== undefined) continue;
        firstWithKey.set(key, fresh.length);
      }
      slots.push({ fresh: fresh.length });
      fresh.push(a);
    }
    // Each record of a batch says its place in it: a batch torn by a crash is then found and skipped. Only
    // with sync 'always', where a batch is acknowledged after its whole group is durable: under another
    // level a torn batch may have been acknowledged, and a later open (whatever its sync) must forward it.
    const parts =
      fresh.length < 2 || this.#options.sync !== 'always'
        ? fresh
        : fresh.map((a, i) => ({ ...a, part: `${i}/${fresh.length}` }));
    const stored = fresh.length === 0 ? Promise.resolve([]) : this.#store(p, parts, signal);
    for (const [key, j] of firstWithKey)
      p.idempotency.set(
        key,
        stored.then((seqs) => this.#taken(seqs[j] as number)),
      );
    const seqs = await stored;
    return Promise.all(
      slots.map((s) => {
        if ('earlier' in s)
          return s.earlier.then((taken) => {
            p.counters.duplicatesSuppressed++;
            return { ...taken, duplicate: true };
          });
        if ('fresh' in s) return { ...this.#taken(seqs[s.fresh] as number), duplicate: false };
        p.counters.duplicatesSuppressed++;
        return { ...this.#taken(seqs[s.sameAs] as number), duplicate: true };
      }),
    );
  }

  #taken(seq: number): Taken {
    return { id: `${this.id}:${seq}`, seq };
  }

  /** Stores messages: direct while direct-first says so, else in the log, waiting for room per `whenFull`. */
  async #store(p: OutboxParts, items: Accepted[], signal: AbortSignal | undefined, from = 1): Promise<number[]> {
    const n = items.length;
    const bytes = items.reduce((s, a) => s + a.bytes, 0);
    for (let attempt = from; ; attempt++) {
      if (this.#closing.signal.aborted) throw new OutboxClosedError(this.dir);
      if (signal?.aborted) throw signal.reason;
      const direct = p.direct;
      if (direct?.isDirect()) {
        if (items.some((a) => a.idempotencyKey !== undefined)) {
          // A key must outlive a crash, and direct sends never reach the log the keys are rebuilt from:
          // through the log, as after a spill (what waits in memory goes first: the order holds).
          void direct.spill('idempotency-key');
          continue;
        }
        // The seq is taken now, synchronously with the enqueue: direct batches go out in seq order.
        const first = p.counter?.take(n);
        if (first !== undefined) return direct.enqueue(items, first, signal);
        try {
          await p.counter?.reserve(n);
        } catch (err) {
          // No room for the SEQ file (a full disk): `whenFull` as for the log.
          await waitForRoom(err, attempt, p.room, signal, bytes);
        }
        continue;
      }
      if (direct !== undefined) {
        // After a spill: log sends come after the spilled messages; a drained log sends direct again.
        await direct.gate;
        if (direct.route === 'switching') await direct.switched;
        if (direct.route !== 'log') continue;
      }
      try {
        const seqs = await p.writer.append(items, signal);
        p.counters.accepted += n;
        return seqs;
      } catch (err) {
        await waitForRoom(err, attempt, p.room, signal, bytes);
      }
    }
  }
}
