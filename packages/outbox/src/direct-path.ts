import { Deque, whenAborted } from '@q/core/internal';
import { DirectTimeoutError, OutboxClosedError, OutboxFullError } from './errors.js';
import type { Reporter, SpillReason } from './events.js';
import { type RoomWait, waitForRoom } from './full.js';
import type { LogWriter } from './log-writer.js';
import { type Accepted, sinkMessageOfAccepted } from './message.js';
import type { ResolvedOutboxOptions } from './options.js';
import type { SinkLane } from './sink-batch.js';
import type { SinkHealth } from './sink-health.js';
import type { OutboxSinkMessage } from './sink-message.js';
import type { OutboxCounters } from './stats.js';

/** What the direct path works with, owned by the outbox. */
export interface DirectParts {
  readonly outboxId: string;
  readonly options: ResolvedOutboxOptions;
  readonly lane: SinkLane;
  readonly health: SinkHealth;
  readonly reporter: Reporter;
  readonly counters: OutboxCounters;
  readonly writer: LogWriter;
  readonly room: RoomWait;
}

/** One `send` or `sendBatch` waiting in memory: its messages have the seqs `first`, `first + 1`, .... */
class Unit {
  readonly items: readonly Accepted[];
  readonly first: number;
  resolve: (seqs: number[]) => void = noop;
  reject: (err: unknown) => void = noop;
  /** Taken into a batch or a spill: an abort no longer withdraws it. */
  taken = false;
  withdrawn = false;
  /** For a batch that timed out: whether the sink confirmed it after all. */
  late: Promise<boolean> | undefined;
  cancelAbort: () => void = noop;

  constructor(items: readonly Accepted[], first: number) {
    this.items = items;
    this.first = first;
  }

  seqs(): number[] {
    return this.items.map((_, i) => this.first + i);
  }
}

const noop = (): void => undefined;
const TIMEOUT = Symbol('timeout');

/**
 * Direct-first: messages wait in memory and go to the sink in batches, one in flight, without touching
 * the disk. A batch that fails or is not confirmed within `directTimeoutMs`, or a backlog beyond
 * `maxDirectBacklog`, spills: the unconfirmed batch and everything waiting are appended to the log in
 * seq order, and every later send goes to the log until the forwarder has drained it; then back to direct.
 */
export class DirectPath {
  readonly #p: DirectParts;
  readonly #queue = new Deque<Unit>();
  #queued = 0;
  #inflight: { readonly messages: number; readonly unconfirmed: Promise<Unit[]> } | undefined;
  #pumping = false;
  #spilling = false;
  /** Where sends go now. */
  route: 'direct' | 'log';
  /** Settles when the spill under way is in the log: log sends wait for it, so they come after it. */
  gate: Promise<void> = Promise.resolve();

  constructor(parts: DirectParts, route: 'direct' | 'log') {
    this.#p = parts;
    this.route = route;
  }

  /** Whether sends go straight to the sink now. */
  isDirect(): boolean {
    return this.route === 'direct';
  }

  /** Messages waiting in memory or in the batch in flight. */
  get pending(): number {
    return this.#queued + (this.#inflight?.messages ?? 0);
  }

  /** Queues messages whose seqs were just taken; resolves with the seqs once the sink or the log has them. */
  enqueue(items: readonly Accepted[], first: number, signal: AbortSignal | undefined): Promise<number[]> {
    const unit = new Unit(items, first);
    const done = new Promise<number[]>((resolve, reject) => {
      unit.resolve = resolve;
      unit.reject = reject;
    });
    if (signal !== undefined)
      unit.cancelAbort = whenAborted(signal, () => {
        if (unit.taken || unit.withdrawn) return;
        unit.withdrawn = true;
        this.#queued -= items.length;
        unit.reject(signal.reason);
      });
    this.#queue.push(unit);
    this.#queued += items.length;
    if (this.#queued > this.#p.options.maxDirectBacklog) this.spill('backlog');
    else this.#pump();
    return done;
  }

  /** The forwarder has nothing left: with no spill or log append under way, sends go direct again. */
  drained(): void {
    if (this.route !== 'log' || this.#spilling || this.#p.writer.pending > 0 || this.#p.room.closing.aborted) return;
    this.route = 'direct';
    this.#p.reporter.logger.info({}, 'outbox: the log is drained; sending direct again');
    this.#pump();
  }

  /** Sends what waits in memory to the log from now on (until drained); resolves once it is there. */
  spill(reason: SpillReason, fromBatch?: Unit[]): Promise<void> {
    if (this.route === 'log') return this.gate;
    this.route = 'log';
    this.#spilling = true;
    const inflight = fromBatch === undefined ? this.#inflight : undefined;
    this.gate = this.#spillAppend(reason, fromBatch, inflight?.unconfirmed).finally(() => {
      this.#spilling = false;
    });
    return this.gate;
  }

  #takeQueued(maxMessages: number, maxBytes: number): Unit[] {
    const units: Unit[] = [];
    let messages = 0;
    let bytes = 0;
    for (let u = this.#queue.peek(); u !== undefined; u = this.#queue.peek()) {
      if (u.withdrawn) {
        this.#queue.shift();
        continue;
      }
      const b = u.items.reduce((n, a) => n + a.body.length, 0);
      if (units.length > 0 && (messages + u.items.length > maxMessages || bytes + b > maxBytes)) break;
      this.#queue.shift();
      u.taken = true;
      u.cancelAbort();
      units.push(u);
      messages += u.items.length;
      bytes += b;
    }
    this.#queued -= messages;
    return units;
  }

  #pump(): void {
    if (this.#pumping || this.route !== 'direct') return;
    this.#pumping = true;
    void this.#pumpLoop().finally(() => {
      this.#pumping = false;
    });
  }

  async #pumpLoop(): Promise<void> {
    const { options, lane, health, counters, outboxId } = this.#p;
    while (this.route === 'direct') {
      const units = this.#takeQueued(options.batchMessages, options.batchBytes);
      if (units.length === 0) return;
      let settle: (failed: Unit[]) => void = noop;
      const messages: OutboxSinkMessage[] = [];
      for (const u of units)
        for (let i = 0; i < u.items.length; i++)
          messages.push(sinkMessageOfAccepted(u.items[i] as Accepted, outboxId, u.first + i));
      this.#inflight = { messages: messages.length, unconfirmed: new Promise((r) => (settle = r)) };
      const push = lane.push(messages);
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        push,
        new Promise<typeof TIMEOUT>((r) => {
          timer = setTimeout(() => r(TIMEOUT), options.directTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
      this.#inflight = undefined;
      if (outcome === undefined) {
        health.succeeded();
        counters.direct += messages.length;
        counters.accepted += messages.length;
        for (const u of units) u.resolve(u.seqs());
        settle([]);
        continue;
      }
      let failed = units;
      let error: unknown;
      if (outcome === TIMEOUT) {
        error = new DirectTimeoutError(options.directTimeoutMs);
        const confirmed = push.then((f) => f === undefined);
        for (const u of units) u.late = confirmed;
      } else {
        error = outcome.error;
        if (outcome.failed !== undefined) failed = this.#unconfirmedUnits(units, outcome.failed);
      }
      if (!options.isPermanent(error)) health.failed(error);
      settle(failed);
      if (this.route === 'direct') void this.spill(outcome === TIMEOUT ? 'timeout' : 'error', failed);
      return;
    }
  }

  /** Resolves the units whose every message was confirmed; returns the others. */
  #unconfirmedUnits(units: Unit[], failed: readonly { readonly index: number }[]): Unit[] {
    const bad = new Set(failed.map((f) => f.index));
    const out: Unit[] = [];
    let index = 0;
    for (const u of units) {
      let ok = true;
      for (let i = 0; i < u.items.length; i++) if (bad.has(index++)) ok = false;
      if (!ok) out.push(u);
      else {
        this.#p.counters.direct += u.items.length;
        this.#p.counters.accepted += u.items.length;
        u.resolve(u.seqs());
      }
    }
    return out;
  }

  async #spillAppend(reason: SpillReason, fromBatch: Unit[] | undefined, inflight: Promise<Unit[]> | undefined) {
    const { reporter, counters } = this.#p;
    // A batch in flight is waited for (directTimeoutMs at most): its unconfirmed units come first.
    const head = fromBatch ?? (inflight === undefined ? [] : await inflight);
    const rest = this.#takeQueued(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY);
    const units = head.concat(rest);
    const messages = units.reduce((n, u) => n + u.items.length, 0);
    if (messages === 0) return;
    counters.spilled += messages;
    reporter.logger.warn({ reason, messages }, 'outbox: direct sends spill to the log until it is drained');
    reporter.emit('spill', { reason, messages });
    const { batchMessages, batchBytes } = this.#p.options;
    const chunkBytes = Math.min(batchBytes, this.#p.room.maxBytes / 4);
    for (let i = 0; i < units.length; ) {
      let end = i;
      let n = 0;
      let bytes = 0;
      do {
        const u = units[end++] as Unit;
        n += u.items.length;
        bytes += u.items.reduce((s, a) => s + a.bytes, 0);
      } while (end < units.length && n < batchMessages && bytes < chunkBytes);
      const chunk = units.slice(i, end);
      try {
        await this.#appendChunk(chunk, bytes);
      } catch (err) {
        if (!(err instanceof OutboxFullError || err instanceof OutboxClosedError))
          reporter.error(err, 'spill', 'outbox: spilling direct sends to the log failed');
        for (const u of units.slice(i)) {
          if (u.late === undefined) u.reject(err);
          else void u.late.then((ok) => (ok ? u.resolve(u.seqs()) : u.reject(err)));
        }
        return;
      }
      counters.accepted += n;
      for (const u of chunk) u.resolve(u.seqs());
      i = end;
    }
  }

  async #appendChunk(chunk: Unit[], bytes: number): Promise<void> {
    const items = chunk.flatMap((u) => u.items.map((accepted, i) => ({ accepted, seq: u.first + i })));
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#p.writer.appendWithSeqs(items);
      } catch (err) {
        await waitForRoom(err, attempt, this.#p.room, undefined, bytes);
      }
    }
  }
}
